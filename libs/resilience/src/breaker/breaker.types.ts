/** Milliseconds since the epoch; every breaker reads time only through one of these. */
export type Clock = () => number;

export type BreakerState = 'closed' | 'half-open' | 'open';

/** gobreaker's Counts: cleared on every new generation. */
export interface Counts {
  requests: number;
  totalSuccesses: number;
  totalFailures: number;
  totalExclusions: number;
  consecutiveSuccesses: number;
  consecutiveFailures: number;
}

export interface BreakerConfig {
  /** Unique breaker name; the `name` label of every metric. */
  name: string;
  /** Half-open: admitted requests, and consecutive successes needed to close. 0 → 1. */
  maxRequests?: number;
  /** Closed state: period after which counts are cleared. 0 → never. */
  intervalMs?: number;
  /** With intervalMs: sliding window of ceil(interval / bucket) buckets instead of a fixed interval. */
  bucketPeriodMs?: number;
  /** Open state: time before half-open. 0 → 60 000. */
  timeoutMs?: number;
  /** Trip when consecutiveFailures ≥ N. Unset or 0 → off. */
  failureThreshold?: number;
  /** Trip when totalFailures / validRequests ≥ r (0 < r ≤ 1) and validRequests ≥ minRequests. Unset → off. */
  failureRatioThreshold?: number;
  /** Minimum validRequests (requests − totalExclusions) before the ratio applies. */
  minRequests?: number;
  /** Custom trip predicate; replaces failureThreshold / failureRatioThreshold. */
  readyToTrip?: (counts: Readonly<Counts>) => boolean;
  /** Outcome classification; default: no error, or a 4xx other than 408 and 429. */
  isSuccessful?: (err: unknown) => boolean;
  /** Neutral outcome: counted in totalExclusions only, frees a half-open slot. */
  isExcluded?: (err: unknown) => boolean;
  /** Per-call deadline enforced by the executor; the call's AbortSignal fires. */
  callTimeoutMs?: number;
  /** Bulkhead: concurrent calls; over it → BulkheadRejectedError, not a failure. */
  maxConcurrent?: number;
  /** Listener for every state change. */
  onStateChange?: (name: string, from: BreakerState, to: BreakerState) => void;
  /** Per-breaker clock override; default the manager's. */
  clock?: Clock;
}

/** What `manager.list()` and `GET /breakers` show of one breaker. */
export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  counts: Counts;
  /** Serialisable part of the config (functions left out). */
  config: Record<string, unknown>;
  /** Open state: ms until the breaker lets a probe through; else 0. */
  retryAfterMs: number;
}

/** The call a breaker guards: receives this call's AbortSignal. */
export type GuardedCall<T> = (signal: AbortSignal) => Promise<T> | T;

/**
 * What the building blocks (HTTP client, stale cache, failover, replayer) need of a breaker.
 * `CircuitBreaker` implements it; unit tests may pass a hand-written one.
 */
export interface Breaker {
  readonly name: string;
  /** Evaluated lazily, like gobreaker's State(). */
  readonly state: BreakerState;
  readonly counts: Readonly<Counts>;
  /** Runs `fn` if admitted; rejects with CircuitOpenError / TooManyRequestsError / BulkheadRejectedError otherwise. */
  execute<T>(fn: GuardedCall<T>): Promise<T>;
  /** Open: ms until a probe is admitted; otherwise 0. */
  retryAfterMs(): number;
}
