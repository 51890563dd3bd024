import { parseLatLngText } from '../common/deterministic.util';
import type { DownstreamDefinition, SimResponse } from '../http/http.types';
import { estimateRoute, GOOGLE_MAPS_PROFILE } from './road.model';

const MAX_DIMENSION = 25;
const MAX_ELEMENTS = 100;

/** Options of the simulated Google Maps Distance Matrix API. */
export interface GoogleMapsSimulatorOptions {
  clock: () => number;
  /** When set, `key` must equal it; otherwise any non-empty key passes. */
  apiKey?: string;
}

function topLevel(status: string, errorMessage?: string, httpStatus = 200): SimResponse {
  return {
    status: httpStatus,
    body: {
      destination_addresses: [],
      origin_addresses: [],
      rows: [],
      status,
      ...(errorMessage === undefined ? {} : { error_message: errorMessage }),
    },
  };
}

function distanceText(meters: number): string {
  return meters < 1000 ? `${meters} m` : `${(meters / 1000).toFixed(1)} km`;
}

function durationText(seconds: number): string {
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) return `${minutes} min${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `${hours} hour${hours === 1 ? '' : 's'}${rest === 0 ? '' : ` ${rest} min${rest === 1 ? '' : 's'}`}`;
}

/**
 * `GET /maps/api/distancematrix/json` (route `distancematrix`). Like the real API, auth and
 * quota problems come back as HTTP 200 with a top-level `status`.
 */
export function createGoogleMapsSimulator(options: GoogleMapsSimulatorOptions): DownstreamDefinition {
  return {
    errorResponse: (status, _route, message) => {
      if (status === 429)
        return topLevel('OVER_QUERY_LIMIT', 'You have exceeded your rate-limit for this API.');
      if (status === 404) return topLevel('INVALID_REQUEST', message, 404);
      return topLevel('UNKNOWN_ERROR', message, status);
    },
    routes: [
      {
        name: 'distancematrix',
        method: 'GET',
        path: '/maps/api/distancematrix/json',
        handle: ({ query }) => {
          const key = query.get('key');
          if (!key) {
            return topLevel(
              'REQUEST_DENIED',
              'You must use an API key to authenticate each request to Google Maps Platform APIs.',
            );
          }
          if (options.apiKey !== undefined && key !== options.apiKey) {
            return topLevel('REQUEST_DENIED', 'The provided API key is invalid.');
          }
          const originsText = query.get('origins');
          const destinationsText = query.get('destinations');
          if (!originsText || !destinationsText) {
            return topLevel(
              'INVALID_REQUEST',
              "Invalid request. Missing the 'origins' or 'destinations' parameter.",
            );
          }
          const origins = originsText.split('|');
          const destinations = destinationsText.split('|');
          if (origins.length > MAX_DIMENSION || destinations.length > MAX_DIMENSION) {
            return topLevel('MAX_DIMENSIONS_EXCEEDED');
          }
          if (origins.length * destinations.length > MAX_ELEMENTS) return topLevel('MAX_ELEMENTS_EXCEEDED');
          const departure = query.get('departure_time');
          const atMs =
            departure && departure !== 'now' && /^\d+$/.test(departure)
              ? Number(departure) * 1000
              : options.clock();
          const rows = origins.map((originText) => ({
            elements: destinations.map((destinationText) => {
              const origin = parseLatLngText(originText);
              const destination = parseLatLngText(destinationText);
              if (!origin || !destination) return { status: 'NOT_FOUND' };
              const route = estimateRoute(origin, destination, atMs, GOOGLE_MAPS_PROFILE);
              return {
                distance: { text: distanceText(route.distanceMeters), value: route.distanceMeters },
                duration: { text: durationText(route.durationSeconds), value: route.durationSeconds },
                status: 'OK',
              };
            }),
          }));
          return {
            status: 200,
            body: {
              destination_addresses: destinations.map((d) =>
                parseLatLngText(d) ? `${d.trim()}, Indonesia` : '',
              ),
              origin_addresses: origins.map((o) => (parseLatLngText(o) ? `${o.trim()}, Indonesia` : '')),
              rows,
              status: 'OK',
            },
          };
        },
      },
    ],
  };
}
