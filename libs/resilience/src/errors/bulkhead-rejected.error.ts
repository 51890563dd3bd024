/** Thrown when a breaker's `maxConcurrent` bulkhead is full; never counted as a failure. */
export class BulkheadRejectedError extends Error {
  readonly code = 'BULKHEAD_FULL' as const;

  constructor(readonly breaker: string) {
    super(`circuit breaker '${breaker}' is at its concurrency limit`);
    this.name = 'BulkheadRejectedError';
  }
}

export function isBulkheadRejectedError(err: unknown): err is BulkheadRejectedError {
  return err instanceof BulkheadRejectedError || (err as { code?: unknown } | null)?.code === 'BULKHEAD_FULL';
}
