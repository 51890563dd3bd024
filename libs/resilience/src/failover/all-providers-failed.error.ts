import type { FailoverAttempt } from './failover.types';

/** Every provider of a failover group failed, was skipped or rejected; carries each attempt. */
export class AllProvidersFailedError extends Error {
  readonly code = 'ALL_PROVIDERS_FAILED' as const;

  constructor(
    readonly group: string,
    readonly attempts: FailoverAttempt[],
    /** Smallest wait before an open breaker of the group admits a probe; undefined if none was open. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(`all providers of '${group}' failed`);
    this.name = 'AllProvidersFailedError';
  }
}

export function isAllProvidersFailedError(err: unknown): err is AllProvidersFailedError {
  return (
    err instanceof AllProvidersFailedError ||
    (err as { code?: unknown } | null)?.code === 'ALL_PROVIDERS_FAILED'
  );
}
