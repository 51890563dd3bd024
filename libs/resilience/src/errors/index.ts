export * from './circuit-open.error';
export * from './too-many-requests.error';
export * from './bulkhead-rejected.error';
export * from './call-timeout.error';
export * from './service-unavailable.error';

/** True for any rejection a breaker made without running the call (open, half-open limit, bulkhead). */
export function isBreakerRejection(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'CIRCUIT_OPEN' || code === 'CIRCUIT_TOO_MANY_REQUESTS' || code === 'BULKHEAD_FULL';
}
