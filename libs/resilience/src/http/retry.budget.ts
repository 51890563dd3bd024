import type { Clock } from '../breaker/breaker.types';

export interface RetryBudgetOptions {
  /** Retries allowed as a share of requests in the window. Default 0.2. */
  ratio?: number;
  /** Retries always allowed per window, so low-volume callers can still retry. Default 3. */
  minRetries?: number;
  /** Sliding window length. Default 60 000 ms. */
  windowMs?: number;
  /** Buckets the window is split into. Default 12 (5 s each for a minute). */
  buckets?: number;
  clock?: Clock;
}

interface Bucket {
  index: number;
  requests: number;
  retries: number;
}

/**
 * Caps retries at `ratio × requests + minRetries` over a bucketed sliding window, so an outage
 * cannot multiply the load on a downstream (Finagle-style retry budget).
 */
export class RetryBudget {
  readonly ratio: number;
  readonly minRetries: number;
  private readonly bucketMs: number;
  private readonly ring: Bucket[];
  private readonly clock: Clock;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.2;
    this.minRetries = options.minRetries ?? 3;
    const windowMs = options.windowMs ?? 60_000;
    const buckets = options.buckets ?? 12;
    if (!(this.ratio >= 0)) throw new Error('RetryBudget: ratio must be ≥ 0');
    if (!(this.minRetries >= 0)) throw new Error('RetryBudget: minRetries must be ≥ 0');
    if (!(windowMs > 0)) throw new Error('RetryBudget: windowMs must be > 0');
    if (!Number.isInteger(buckets) || buckets < 1)
      throw new Error('RetryBudget: buckets must be an integer ≥ 1');
    this.bucketMs = windowMs / buckets;
    this.ring = Array.from({ length: buckets }, () => ({ index: -1, requests: 0, retries: 0 }));
    this.clock = options.clock ?? Date.now;
  }

  /** Counts one original request (not a retry). */
  recordRequest(): void {
    this.current().requests++;
  }

  /** Takes one retry from the budget; false when it is spent. */
  tryAcquireRetry(): boolean {
    const { requests, retries } = this.totals();
    if (retries + 1 > this.ratio * requests + this.minRetries) return false;
    this.current().retries++;
    return true;
  }

  /** Requests and retries in the current window. */
  totals(): { requests: number; retries: number } {
    const now = Math.floor(this.clock() / this.bucketMs);
    let requests = 0;
    let retries = 0;
    for (const bucket of this.ring) {
      if (bucket.index > now - this.ring.length && bucket.index <= now) {
        requests += bucket.requests;
        retries += bucket.retries;
      }
    }
    return { requests, retries };
  }

  private current(): Bucket {
    const index = Math.floor(this.clock() / this.bucketMs);
    const bucket = this.ring[((index % this.ring.length) + this.ring.length) % this.ring.length];
    if (bucket.index !== index) {
      bucket.index = index;
      bucket.requests = 0;
      bucket.retries = 0;
    }
    return bucket;
  }
}
