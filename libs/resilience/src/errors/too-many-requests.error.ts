/** Thrown by `execute()` when a half-open breaker has already admitted `maxRequests` calls. */
export class TooManyRequestsError extends Error {
  readonly code = 'CIRCUIT_TOO_MANY_REQUESTS' as const;
  readonly isBrokenCircuitError = true;

  constructor(readonly breaker: string) {
    super(`circuit breaker '${breaker}' is half-open and at its request limit`);
    this.name = 'TooManyRequestsError';
  }
}

export function isTooManyRequestsError(err: unknown): err is TooManyRequestsError {
  return (
    err instanceof TooManyRequestsError ||
    (err as { code?: unknown } | null)?.code === 'CIRCUIT_TOO_MANY_REQUESTS'
  );
}
