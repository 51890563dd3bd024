/**
 * How a request failed without an HTTP answer:
 * refused (nothing listens), reset (connection dropped), dns (name not resolved),
 * timeout (deadline passed), aborted (the caller's signal fired), other.
 */
export type HttpConnectionErrorKind = 'refused' | 'reset' | 'dns' | 'timeout' | 'aborted' | 'other';

/**
 * No HTTP answer. `requestSent` false means the downstream cannot have seen the request (safe to
 * try elsewhere); true means it may have processed it (unknown outcome). When in doubt it is true.
 */
export class HttpConnectionError extends Error {
  readonly code = 'HTTP_CONNECTION_ERROR' as const;

  constructor(
    readonly downstream: string,
    readonly kind: HttpConnectionErrorKind,
    readonly requestSent: boolean,
    /** The system error code (ECONNREFUSED, ECONNRESET, …) when there was one. */
    readonly errno?: string,
    where = '',
  ) {
    super(`${downstream}: connection ${kind}${errno ? ` (${errno})` : ''}${where ? ` on ${where}` : ''}`);
    this.name = 'HttpConnectionError';
  }
}

export function isHttpConnectionError(err: unknown): err is HttpConnectionError {
  return (
    err instanceof HttpConnectionError || (err as { code?: unknown } | null)?.code === 'HTTP_CONNECTION_ERROR'
  );
}
