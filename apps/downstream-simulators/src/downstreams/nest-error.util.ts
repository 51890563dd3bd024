import type { SimResponse } from '../http/http.types';
import { STATUS_CODES } from 'node:http';

/** Nest's error shape `{ statusCode, error, message }` (user-service and the control API use it). */
export function nestError(status: number, message: string, extra?: Record<string, unknown>): SimResponse {
  return { status, body: { statusCode: status, error: STATUS_CODES[status] ?? 'Error', message, ...extra } };
}

/** Reason phrase for a status, e.g. 503 → "Service Unavailable". */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}
