import type { IncomingHttpHeaders } from 'node:http';

/** A request as the simulated APIs see it: body already read and parsed. */
export interface SimRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: string;
  /** Parsed JSON body; undefined when the body was empty or malformed (see `bodyError`). */
  body: unknown;
  bodyError?: string;
  /** Base URL of the simulator that received the request, e.g. http://127.0.0.1:4003. */
  baseUrl: string;
}

/** What a handler answers; JSON unless `contentType` says otherwise. */
export interface SimResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  contentType?: string;
}

/** One route of a simulated API; `name` is what call counters and route-scoped faults use. */
export interface RouteDefinition {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** Path pattern with `:param` segments, e.g. `/v2/:orderId/status`. */
  path: string;
  /** Test-only routes (`/_simulate/*`, `/v1/_orders`): neither counted nor faulted. */
  simulatorOnly?: boolean;
  handle(request: SimRequest): SimResponse | Promise<SimResponse>;
}

/** A simulated downstream: its routes and how it formats errors. */
export interface DownstreamDefinition {
  routes: RouteDefinition[];
  /** An error answer in this provider's own format (used by faults, unknown routes, crashes). */
  errorResponse(status: number, routeName: string, message: string): SimResponse;
}

export function json(status: number, body: unknown, headers?: Record<string, string>): SimResponse {
  return { status, body, headers };
}
