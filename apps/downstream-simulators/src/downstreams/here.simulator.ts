import { hashString, parseLatLngText } from '../common/deterministic.util';
import type { DownstreamDefinition, SimResponse } from '../http/http.types';
import { reasonPhrase } from './nest-error.util';
import { estimateRoute, HERE_PROFILE } from './road.model';

const TRANSPORT_MODES = new Set(['car', 'taxi']);

/** Options of the simulated HERE Routing API v8. */
export interface HereSimulatorOptions {
  clock: () => number;
  /** When set, `apiKey` must equal it; otherwise any non-empty key passes. */
  apiKey?: string;
}

function hereError(status: number, title: string, cause: string, code = 'E605001'): SimResponse {
  return {
    status,
    body: {
      title,
      status,
      code,
      cause,
      action: '',
      correlationId: `sim-${hashString(`${status}:${cause}`).toString(16)}`,
    },
  };
}

/** `GET /v8/routes` (route `routes`); 401 without a valid `apiKey`. */
export function createHereSimulator(options: HereSimulatorOptions): DownstreamDefinition {
  return {
    errorResponse: (status, _route, message) => {
      if (status === 429) {
        return {
          status,
          body: {
            error: 'Too Many Requests',
            error_description: 'Rate limit for this service has been reached',
          },
        };
      }
      return hereError(status, reasonPhrase(status), message, status >= 500 ? 'E605500' : 'E605001');
    },
    routes: [
      {
        name: 'routes',
        method: 'GET',
        path: '/v8/routes',
        handle: ({ query }) => {
          const apiKey = query.get('apiKey');
          if (!apiKey || (options.apiKey !== undefined && apiKey !== options.apiKey)) {
            return {
              status: 401,
              body: {
                error: 'Unauthorized',
                error_description: apiKey ? 'apiKey invalid. apiKey not found.' : 'No credentials found',
              },
            };
          }
          const mode = query.get('transportMode');
          if (!mode) return hereError(400, 'Malformed request', "Missing required parameter 'transportMode'");
          if (!TRANSPORT_MODES.has(mode))
            return hereError(400, 'Malformed request', `Unsupported transportMode '${mode}'`);
          const originText = query.get('origin');
          const destinationText = query.get('destination');
          const origin = originText ? parseLatLngText(originText) : undefined;
          const destination = destinationText ? parseLatLngText(destinationText) : undefined;
          if (!origin)
            return hereError(
              400,
              'Malformed request',
              "Error while parsing request: 'origin' must be 'lat,lng'",
            );
          if (!destination) {
            return hereError(
              400,
              'Malformed request',
              "Error while parsing request: 'destination' must be 'lat,lng'",
            );
          }
          const departureParam = query.get('departureTime');
          const parsedDeparture = departureParam ? Date.parse(departureParam) : NaN;
          const departureMs = Number.isNaN(parsedDeparture) ? options.clock() : parsedDeparture;
          const route = estimateRoute(origin, destination, departureMs, HERE_PROFILE);
          const returns = new Set((query.get('return') ?? '').split(',').map((r) => r.trim()));
          const id = hashString(`${originText}|${destinationText}`).toString(16).padStart(8, '0');
          return {
            status: 200,
            body: {
              routes: [
                {
                  id: `${id}-0000-4000-8000-${id}0000`,
                  sections: [
                    {
                      id: `${id}-0000-4000-8000-${id}0001`,
                      type: 'vehicle',
                      departure: {
                        time: new Date(departureMs).toISOString(),
                        place: { type: 'place', location: origin, originalLocation: origin },
                      },
                      arrival: {
                        time: new Date(departureMs + route.durationSeconds * 1000).toISOString(),
                        place: { type: 'place', location: destination, originalLocation: destination },
                      },
                      ...(returns.has('summary')
                        ? {
                            summary: {
                              duration: route.durationSeconds,
                              length: route.distanceMeters,
                              baseDuration: Math.round(route.durationSeconds * 0.8),
                            },
                          }
                        : {}),
                      transport: { mode },
                    },
                  ],
                },
              ],
            },
          };
        },
      },
    ],
  };
}
