/** A 5xx answer from a downstream; a failure for the breaker and retryable for idempotent calls. */
export class HttpServerError extends Error {
  readonly code = 'HTTP_SERVER_ERROR' as const;

  constructor(
    readonly downstream: string,
    readonly status: number,
    readonly body: unknown,
    where = '',
  ) {
    super(`${downstream} answered ${status}${where ? ` to ${where}` : ''}`);
    this.name = 'HttpServerError';
  }
}

export function isHttpServerError(err: unknown): err is HttpServerError {
  return err instanceof HttpServerError || (err as { code?: unknown } | null)?.code === 'HTTP_SERVER_ERROR';
}
