import type { Breaker, BreakerState, Counts, GuardedCall } from '../../breaker/breaker.types';
import { CallTimeoutError } from '../../errors/call-timeout.error';
import { CircuitOpenError } from '../../errors/circuit-open.error';

/** The library's default classification: no error, or a 4xx other than 408/429. */
export function defaultIsSuccessful(err: unknown): boolean {
  if (err === undefined) return true;
  const e = err as { status?: unknown; statusCode?: unknown; response?: { status?: unknown } } | null;
  const status = e?.status ?? e?.statusCode ?? e?.response?.status;
  return typeof status === 'number' && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

const zeroCounts = (): Counts => ({
  requests: 0,
  totalSuccesses: 0,
  totalFailures: 0,
  totalExclusions: 0,
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
});

/**
 * Test double: always closed, counts outcomes with the default classification, and (with
 * callTimeoutMs) aborts the call's signal and rejects with CallTimeoutError like the real executor.
 */
export class PassThroughBreaker implements Breaker {
  readonly state: BreakerState = 'closed';
  readonly counts: Counts = zeroCounts();
  readonly signals: AbortSignal[] = [];
  calls = 0;

  constructor(
    readonly name = 'test',
    private readonly callTimeoutMs?: number,
  ) {}

  async execute<T>(fn: GuardedCall<T>): Promise<T> {
    this.calls++;
    this.counts.requests++;
    const controller = new AbortController();
    this.signals.push(controller.signal);
    let timer: NodeJS.Timeout | undefined;
    const deadline =
      this.callTimeoutMs === undefined
        ? undefined
        : new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const err = new CallTimeoutError(this.name, this.callTimeoutMs ?? 0);
              controller.abort(err);
              reject(err);
            }, this.callTimeoutMs);
          });
    try {
      const run = Promise.resolve().then(() => fn(controller.signal));
      const value = await (deadline ? Promise.race([run, deadline]) : run);
      this.record(undefined);
      return value;
    } catch (err: unknown) {
      this.record(err);
      throw err;
    } finally {
      if (timer) clearTimeout(timer);
    }
  }

  retryAfterMs(): number {
    return 0;
  }

  private record(err: unknown): void {
    if (defaultIsSuccessful(err)) {
      this.counts.totalSuccesses++;
      this.counts.consecutiveSuccesses++;
      this.counts.consecutiveFailures = 0;
    } else {
      this.counts.totalFailures++;
      this.counts.consecutiveFailures++;
      this.counts.consecutiveSuccesses = 0;
    }
  }
}

/** Test double: open; every execute() rejects with CircuitOpenError without running the call. */
export class OpenBreaker implements Breaker {
  readonly counts: Counts = zeroCounts();
  calls = 0;

  constructor(
    readonly name = 'open',
    private readonly retryAfter = 5_000,
    /** What `state` reports; 'closed' simulates a breaker that opens between the check and execute(). */
    readonly state: BreakerState = 'open',
  ) {}

  execute<T>(_fn: GuardedCall<T>): Promise<T> {
    this.calls++;
    return Promise.reject(new CircuitOpenError(this.name, this.retryAfter));
  }

  retryAfterMs(): number {
    return this.retryAfter;
  }
}
