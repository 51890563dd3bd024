import type { ResilientHttpClient } from '@app/resilience';
import type { LatLng, Route } from '../routing/route.types';
import { MapProviderError } from './map-provider.error';

interface DistanceMatrixAnswer {
  status?: string;
  error_message?: string;
  rows?: { elements?: { status?: string; distance?: { value?: number }; duration?: { value?: number } }[] }[];
}

const point = (p: LatLng): string => `${p.lat},${p.lng}`;

/** Google Maps Distance Matrix: one origin, one destination, driving. */
export class GoogleMapsClient {
  constructor(
    private readonly http: ResilientHttpClient,
    private readonly apiKey: string,
  ) {}

  /** The road route; throws MapProviderError when Google answers without one (quota, denied, not found). */
  async route(from: LatLng, to: LatLng, signal?: AbortSignal): Promise<Route> {
    const { data } = await this.http.get<DistanceMatrixAnswer>('/maps/api/distancematrix/json', {
      query: {
        origins: point(from),
        destinations: point(to),
        mode: 'driving',
        departure_time: 'now',
        key: this.apiKey,
      },
      signal,
    });
    if (data?.status !== 'OK') throw new MapProviderError('google-maps', `${data?.status ?? 'no status'}`);
    const element = data.rows?.[0]?.elements?.[0];
    const distance = element?.distance?.value;
    const duration = element?.duration?.value;
    if (element?.status !== 'OK' || typeof distance !== 'number' || typeof duration !== 'number') {
      throw new MapProviderError('google-maps', `element ${element?.status ?? 'missing'}`);
    }
    return { distanceMeters: Math.round(distance), durationSeconds: Math.round(duration) };
  }
}
