/** Thrown by `execute()` when the breaker is open; carries the time left before half-open. */
export class CircuitOpenError extends Error {
  readonly code = 'CIRCUIT_OPEN' as const;
  readonly isBrokenCircuitError = true;

  constructor(
    readonly breaker: string,
    readonly retryAfterMs: number,
  ) {
    super(`circuit breaker '${breaker}' is open`);
    this.name = 'CircuitOpenError';
  }
}

export function isCircuitOpenError(err: unknown): err is CircuitOpenError {
  return err instanceof CircuitOpenError || (err as { code?: unknown } | null)?.code === 'CIRCUIT_OPEN';
}
