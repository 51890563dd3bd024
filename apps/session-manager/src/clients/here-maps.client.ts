import type { ResilientHttpClient } from '@app/resilience';
import type { LatLng, Route } from '../routing/route.types';
import { MapProviderError } from './map-provider.error';

interface HereRoutesAnswer {
  routes?: { sections?: { summary?: { length?: number; duration?: number } }[] }[];
}

const point = (p: LatLng): string => `${p.lat},${p.lng}`;

/** HERE Routing v8: car route with a summary per section. */
export class HereMapsClient {
  constructor(
    private readonly http: ResilientHttpClient,
    private readonly apiKey: string,
  ) {}

  /** The road route; throws MapProviderError when HERE answers without one. */
  async route(from: LatLng, to: LatLng, signal?: AbortSignal): Promise<Route> {
    const { data } = await this.http.get<HereRoutesAnswer>('/v8/routes', {
      query: {
        transportMode: 'car',
        origin: point(from),
        destination: point(to),
        return: 'summary',
        apiKey: this.apiKey,
      },
      signal,
    });
    const sections = data?.routes?.[0]?.sections ?? [];
    let distanceMeters = 0;
    let durationSeconds = 0;
    for (const section of sections) {
      const { length, duration } = section.summary ?? {};
      if (typeof length !== 'number' || typeof duration !== 'number') {
        throw new MapProviderError('here', 'section without summary');
      }
      distanceMeters += length;
      durationSeconds += duration;
    }
    if (sections.length === 0) throw new MapProviderError('here', 'no route');
    return { distanceMeters: Math.round(distanceMeters), durationSeconds: Math.round(durationSeconds) };
  }
}
