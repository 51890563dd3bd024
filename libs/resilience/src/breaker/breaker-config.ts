import type { BreakerConfig, BreakerState, Clock, Counts } from './breaker.types';

/** gobreaker's default Timeout. */
export const DEFAULT_OPEN_TIMEOUT_MS = 60_000;

/** gobreaker's default ReadyToTrip: more than 5 consecutive failures. */
export function defaultReadyToTrip(counts: Readonly<Counts>): boolean {
  return counts.consecutiveFailures > 5;
}

/** HTTP status carried by an error as `status`, `statusCode` or `response.status`. */
export function httpStatusOf(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { status?: unknown; statusCode?: unknown; response?: { status?: unknown } | null };
  if (typeof e.status === 'number') return e.status;
  if (typeof e.statusCode === 'number') return e.statusCode;
  const nested = e.response?.status;
  return typeof nested === 'number' ? nested : undefined;
}

/**
 * Default classification: no error, or a client error (400–499) other than 408 and 429, is healthy.
 * 408 and 429 signal a struggling downstream; everything else (5xx, timeouts, connection errors,
 * our own rejections) is a failure.
 */
export function defaultIsSuccessful(err: unknown): boolean {
  if (err === undefined || err === null) return true;
  const status = httpStatusOf(err);
  return status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
}

/**
 * The design's trip policy: consecutiveFailures ≥ failureThreshold, or totalFailures / validRequests
 * ≥ failureRatioThreshold once validRequests ≥ minRequests. A zero threshold is off (defect 1).
 */
export function tripPolicy(
  failureThreshold: number,
  failureRatioThreshold: number,
  minRequests: number,
): (counts: Readonly<Counts>) => boolean {
  return (counts) => {
    if (failureThreshold > 0 && counts.consecutiveFailures >= failureThreshold) return true;
    if (failureRatioThreshold > 0) {
      const valid = counts.requests - counts.totalExclusions;
      if (valid > 0 && valid >= minRequests && counts.totalFailures / valid >= failureRatioThreshold)
        return true;
    }
    return false;
  };
}

/** A BreakerConfig with every default applied, as the state machine uses it. */
export interface ResolvedBreakerConfig {
  readonly name: string;
  readonly maxRequests: number;
  /** Effective interval (rounded up to a multiple of bucketPeriodMs); 0 → never. */
  readonly intervalMs: number;
  /** 0 → fixed window. */
  readonly bucketPeriodMs: number;
  readonly numBuckets: number;
  readonly timeoutMs: number;
  readonly readyToTrip: (counts: Readonly<Counts>) => boolean;
  readonly isSuccessful: (err: unknown) => boolean;
  readonly isExcluded: ((err: unknown) => boolean) | undefined;
  readonly callTimeoutMs: number | undefined;
  readonly maxConcurrent: number | undefined;
  readonly onStateChange: ((name: string, from: BreakerState, to: BreakerState) => void) | undefined;
  readonly clock: Clock | undefined;
}

function fail(field: string, why: string): never {
  throw new TypeError(`invalid breaker config: ${field} ${why}`);
}

function duration(
  config: BreakerConfig,
  field: 'intervalMs' | 'bucketPeriodMs' | 'timeoutMs' | 'callTimeoutMs',
): number {
  const v = config[field];
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    fail(field, `must be a finite number ≥ 0 (got ${String(v)})`);
  return v;
}

function count(
  config: BreakerConfig,
  field: 'maxRequests' | 'failureThreshold' | 'minRequests' | 'maxConcurrent',
): number {
  const v = config[field];
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    fail(field, `must be an integer ≥ 0 (got ${String(v)})`);
  return v;
}

function fn<K extends 'readyToTrip' | 'isSuccessful' | 'isExcluded' | 'onStateChange' | 'clock'>(
  config: BreakerConfig,
  field: K,
): BreakerConfig[K] {
  const v = config[field];
  if (v !== undefined && typeof v !== 'function') fail(field, 'must be a function');
  return v;
}

/** Validates `config` and applies gobreaker's defaults; throws a TypeError naming the bad field. */
export function resolveBreakerConfig(config: BreakerConfig): ResolvedBreakerConfig {
  if (config === null || typeof config !== 'object') fail('config', 'must be an object');
  if (typeof config.name !== 'string' || config.name.trim() === '')
    fail('name', 'must be a non-empty string');

  const maxRequests = count(config, 'maxRequests');
  const interval = duration(config, 'intervalMs');
  const bucketPeriod = duration(config, 'bucketPeriodMs');
  const timeout = duration(config, 'timeoutMs');
  const callTimeout = duration(config, 'callTimeoutMs');
  const failureThreshold = count(config, 'failureThreshold');
  const minRequests = count(config, 'minRequests');
  const maxConcurrent = count(config, 'maxConcurrent');
  const ratio = config.failureRatioThreshold;
  if (ratio !== undefined && (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1))) {
    fail('failureRatioThreshold', `must be in (0, 1] (0 = off) (got ${String(ratio)})`);
  }
  if (config.maxConcurrent !== undefined && maxConcurrent < 1) fail('maxConcurrent', 'must be ≥ 1');
  const readyToTrip = fn(config, 'readyToTrip');
  const isSuccessful = fn(config, 'isSuccessful');
  const isExcluded = fn(config, 'isExcluded');
  const onStateChange = fn(config, 'onStateChange');
  const clock = fn(config, 'clock');

  let intervalMs = 0;
  let bucketPeriodMs = 0;
  let numBuckets = 1;
  if (interval > 0 && bucketPeriod > 0) {
    intervalMs = Math.ceil(interval / bucketPeriod) * bucketPeriod;
    bucketPeriodMs = bucketPeriod;
    numBuckets = Math.round(intervalMs / bucketPeriodMs);
  } else if (interval > 0) {
    intervalMs = interval;
    bucketPeriodMs = interval;
  }

  const explicitPolicy = config.failureThreshold !== undefined || ratio !== undefined;
  const trip =
    readyToTrip ??
    (explicitPolicy ? tripPolicy(failureThreshold, ratio ?? 0, minRequests) : defaultReadyToTrip);

  return {
    name: config.name,
    maxRequests: maxRequests === 0 ? 1 : maxRequests,
    intervalMs,
    bucketPeriodMs,
    numBuckets,
    timeoutMs: timeout === 0 ? DEFAULT_OPEN_TIMEOUT_MS : timeout,
    readyToTrip: trip,
    isSuccessful: isSuccessful ?? defaultIsSuccessful,
    isExcluded,
    callTimeoutMs: callTimeout > 0 ? callTimeout : undefined,
    maxConcurrent: config.maxConcurrent === undefined ? undefined : maxConcurrent,
    onStateChange,
    clock,
  };
}
