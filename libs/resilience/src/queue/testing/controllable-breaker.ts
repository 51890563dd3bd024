import type { Breaker, BreakerState, Counts, GuardedCall } from '../../breaker/breaker.types';
import { CallTimeoutError } from '../../errors/call-timeout.error';
import { CircuitOpenError } from '../../errors/circuit-open.error';
import { TooManyRequestsError } from '../../errors/too-many-requests.error';

/**
 * A Breaker whose state the test sets: open rejects everything, half-open admits `halfOpenAdmits`
 * calls then rejects with TooManyRequestsError, closed admits all. `callTimeoutMs` aborts the
 * call's signal and rejects with CallTimeoutError, like the real executor.
 */
export class ControllableBreaker implements Breaker {
  state: BreakerState = 'closed';
  halfOpenAdmits = 1;
  retryAfter = 50;
  readonly counts: Counts = {
    requests: 0,
    totalSuccesses: 0,
    totalFailures: 0,
    totalExclusions: 0,
    consecutiveSuccesses: 0,
    consecutiveFailures: 0,
  };
  /** Calls admitted (fn run). */
  admitted = 0;
  /** Calls rejected without running fn. */
  rejected = 0;
  private admittedHalfOpen = 0;

  constructor(
    readonly name = 'test-downstream',
    private readonly callTimeoutMs?: number,
  ) {}

  setState(state: BreakerState, halfOpenAdmits = 1): void {
    this.state = state;
    this.halfOpenAdmits = halfOpenAdmits;
    this.admittedHalfOpen = 0;
  }

  retryAfterMs(): number {
    return this.state === 'open' ? this.retryAfter : 0;
  }

  execute<T>(fn: GuardedCall<T>): Promise<T> {
    if (this.state === 'open') {
      this.rejected++;
      return Promise.reject(new CircuitOpenError(this.name, this.retryAfter));
    }
    if (this.state === 'half-open' && this.admittedHalfOpen >= this.halfOpenAdmits) {
      this.rejected++;
      return Promise.reject(new TooManyRequestsError(this.name));
    }
    if (this.state === 'half-open') this.admittedHalfOpen++;
    this.admitted++;
    this.counts.requests++;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const call = Promise.resolve().then(() => fn(controller.signal));
    const guarded = this.callTimeoutMs
      ? Promise.race([
          call,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              const err = new CallTimeoutError(this.name, this.callTimeoutMs as number);
              controller.abort(err);
              reject(err);
            }, this.callTimeoutMs);
          }),
        ])
      : call;
    return guarded.then(
      (value) => {
        clearTimeout(timer);
        this.counts.totalSuccesses++;
        return value;
      },
      (err: unknown) => {
        clearTimeout(timer);
        this.counts.totalFailures++;
        throw err;
      },
    );
  }
}
