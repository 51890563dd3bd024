export interface ServiceUnavailableOptions {
  /** Whether the client may retry the request later. */
  retry?: boolean;
  /** Whether a fallback answer was attempted or served. */
  fallbackUsed?: boolean;
  /** How long the client should wait, in ms (the edge turns it into `Retry-After`). */
  retryAfterMs?: number;
  /** Extra fields for the error body (e.g. payment attempts). */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** A dependency cannot serve the request; the app's exception filter maps it to 503 + Retry-After. */
export class ServiceUnavailableError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE' as const;
  readonly retry: boolean;
  readonly fallbackUsed: boolean;
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown>;

  constructor(
    readonly service: string,
    message: string,
    options: ServiceUnavailableOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ServiceUnavailableError';
    this.retry = options.retry ?? true;
    this.fallbackUsed = options.fallbackUsed ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details ?? {};
  }
}

export function isServiceUnavailableError(err: unknown): err is ServiceUnavailableError {
  return err instanceof ServiceUnavailableError;
}
