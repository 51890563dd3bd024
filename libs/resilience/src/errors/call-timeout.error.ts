/** Thrown when a call outlives its breaker's `callTimeoutMs`; the call's AbortSignal has fired. */
export class CallTimeoutError extends Error {
  readonly code = 'CALL_TIMEOUT' as const;

  constructor(
    readonly breaker: string,
    readonly timeoutMs: number,
  ) {
    super(`call through '${breaker}' timed out after ${timeoutMs} ms`);
    this.name = 'CallTimeoutError';
  }
}

export function isCallTimeoutError(err: unknown): err is CallTimeoutError {
  return err instanceof CallTimeoutError || (err as { code?: unknown } | null)?.code === 'CALL_TIMEOUT';
}
