/** A 4xx answer from a downstream; thrown through the breaker, which counts it healthy (except 408/429). */
export class HttpClientError extends Error {
  readonly code = 'HTTP_CLIENT_ERROR' as const;

  constructor(
    readonly downstream: string,
    readonly status: number,
    readonly body: unknown,
    /** Parsed `Retry-After` of a 408/429, in ms; undefined when absent or unparsable. */
    readonly retryAfterMs?: number,
    where = '',
  ) {
    super(`${downstream} answered ${status}${where ? ` to ${where}` : ''}`);
    this.name = 'HttpClientError';
  }
}

export function isHttpClientError(err: unknown): err is HttpClientError {
  return err instanceof HttpClientError || (err as { code?: unknown } | null)?.code === 'HTTP_CLIENT_ERROR';
}
