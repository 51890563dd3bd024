import { Logger, type LoggerService } from '@nestjs/common';
import type { Alerter } from '../alerting/alerter';
import { BulkheadRejectedError, CircuitOpenError, TooManyRequestsError } from '../errors';
import {
  BREAKER_STATE_VALUE,
  type BreakerCallResult,
  type BreakerMetricsRecorder,
} from '../metrics/breaker-metrics';
import { BreakerExecutor } from './breaker-executor';
import { resolveBreakerConfig, type ResolvedBreakerConfig } from './breaker-config';
import type {
  Breaker,
  BreakerConfig,
  BreakerSnapshot,
  BreakerState,
  Clock,
  Counts,
  GuardedCall,
} from './breaker.types';
import { RollingCounts } from './rolling-counts';

/** Outcome reported to the callback of `allow()` (true = success, false = failure). */
export type TwoStepOutcome = boolean | BreakerCallResult;

/** What a breaker is wired to besides its config (the manager supplies these). */
export interface CircuitBreakerDeps {
  /** Default `Date.now`; `config.clock` wins. */
  clock?: Clock;
  logger?: LoggerService;
  alerter?: Alerter;
  /** Attaches the breaker's metrics (called once, with the breaker's lazy state reader). */
  metrics?: (name: string, stateValue: () => number) => BreakerMetricsRecorder;
  /** Pass-through: never rejects, never counts, still applies callTimeoutMs (cascade benchmark only). */
  disabled?: boolean;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

// Looks Date.now up on every read, so jest fake timers installed after construction still apply.
const readDateNow: Clock = () => Date.now();

// Rejections are the hot path of an open breaker: built without running the Error constructor, so
// no stack is captured (instanceof, code, breaker, message and a one-line stack all hold).
function rejection<E extends Error>(proto: E, name: string, message: string): Writable<E> {
  const err = Object.create(proto) as Writable<E>;
  err.name = name;
  err.message = message;
  err.stack = `${name}: ${message}`;
  return err;
}

function openRejection(breaker: string, message: string, retryAfterMs: number): CircuitOpenError {
  const err = rejection(CircuitOpenError.prototype, 'CircuitOpenError', message);
  err.code = 'CIRCUIT_OPEN';
  err.isBrokenCircuitError = true;
  err.breaker = breaker;
  err.retryAfterMs = retryAfterMs;
  return err;
}

function tooManyRejection(breaker: string, message: string): TooManyRequestsError {
  const err = rejection(TooManyRequestsError.prototype, 'TooManyRequestsError', message);
  err.code = 'CIRCUIT_TOO_MANY_REQUESTS';
  err.isBrokenCircuitError = true;
  err.breaker = breaker;
  return err;
}

function bulkheadRejection(breaker: string, message: string): BulkheadRejectedError {
  const err = rejection(BulkheadRejectedError.prototype, 'BulkheadRejectedError', message);
  err.code = 'BULKHEAD_FULL';
  err.breaker = breaker;
  return err;
}

/**
 * gobreaker v2.4's state machine with opossum as the executor. Admission is synchronous inside
 * `execute()`; transitions are lazy and strict (`expiry < now`), read through the clock.
 */
export class CircuitBreaker implements Breaker {
  /** Validated config with every default applied. */
  readonly settings: ResolvedBreakerConfig;
  readonly executor: BreakerExecutor;
  private readonly clock: Clock;
  private readonly rolling: RollingCounts;
  private readonly recorder: BreakerMetricsRecorder | undefined;
  private readonly logger: LoggerService;
  private readonly alerter: Alerter | undefined;
  private readonly disabled: boolean;
  private readonly excluded: ((err: unknown) => boolean) | undefined;
  private readonly successful: (err: unknown) => boolean;
  private readonly customSuccessful: boolean;

  private _state: BreakerState = 'closed';
  private _generation = 0;
  private _start = 0;
  private _expiry = 0;
  private _inFlight = 0;
  private readonly openMessage: string;
  private readonly tooManyMessage: string;
  private readonly bulkheadMessage: string;

  constructor(
    readonly config: BreakerConfig,
    deps: CircuitBreakerDeps = {},
  ) {
    this.settings = resolveBreakerConfig(config);
    this.clock = this.settings.clock ?? deps.clock ?? readDateNow;
    this.rolling = new RollingCounts(this.settings.numBuckets);
    this.logger = deps.logger ?? new Logger('CircuitBreaker');
    this.alerter = deps.alerter;
    this.disabled = deps.disabled === true;
    this.excluded = this.settings.isExcluded;
    this.successful = this.settings.isSuccessful;
    this.customSuccessful = config.isSuccessful !== undefined;
    this.executor = new BreakerExecutor({
      name: this.settings.name,
      callTimeoutMs: this.settings.callTimeoutMs,
      maxConcurrent: this.disabled ? undefined : this.settings.maxConcurrent,
    });
    const name = this.settings.name;
    this.openMessage = `circuit breaker '${name}' is open`;
    this.tooManyMessage = `circuit breaker '${name}' is half-open and at its request limit`;
    this.bulkheadMessage = `circuit breaker '${name}' is at its concurrency limit`;
    this.toNewGeneration(this.clock());
    this.recorder = deps.metrics?.(this.settings.name, () => BREAKER_STATE_VALUE[this.state]);
  }

  get name(): string {
    return this.settings.name;
  }

  /** Current state, evaluated lazily like gobreaker's State(). */
  get state(): BreakerState {
    return this.currentState(this.clock());
  }

  /** Copy of the current counts (no transition is evaluated, like gobreaker's Counts()). */
  get counts(): Counts {
    return this.rolling.snapshot();
  }

  /** Incremented on every state change and every closed-state interval expiry. */
  get generation(): number {
    return this._generation;
  }

  /** Closed: when counts clear; open: when half-open becomes possible; 0 = none (gobreaker's zero time). */
  get expiry(): number {
    return this._expiry;
  }

  /** Start of the current generation (the sliding window's origin). */
  get start(): number {
    return this._start;
  }

  /** Open state: when the breaker opened; otherwise undefined. */
  get openedAt(): number | undefined {
    return this._state === 'open' ? this._expiry - this.settings.timeoutMs : undefined;
  }

  get maxRequests(): number {
    return this.settings.maxRequests;
  }

  /** Effective interval (rounded up to a multiple of bucketPeriodMs); 0 = never. */
  get intervalMs(): number {
    return this.settings.intervalMs;
  }

  get bucketPeriodMs(): number {
    return this.settings.bucketPeriodMs;
  }

  get timeoutMs(): number {
    return this.settings.timeoutMs;
  }

  /** The trip predicate in use (custom, the design's policy, or gobreaker's default). */
  get readyToTrip(): (counts: Readonly<Counts>) => boolean {
    return this.settings.readyToTrip;
  }

  get onStateChange(): BreakerConfig['onStateChange'] {
    return this.settings.onStateChange;
  }

  /** Number of buckets of the window (1 = fixed window). */
  get numBuckets(): number {
    return this.rolling.buckets.length;
  }

  /** Bucket periods elapsed in the current generation (sliding window only). */
  get age(): number {
    return this.rolling.age;
  }

  /** Counts of one bucket relative to the current one (0 current, -1 previous…). */
  bucketAt(index: number): Counts {
    return this.rolling.bucketAt(index);
  }

  /** Calls admitted and not yet settled. */
  get inFlight(): number {
    return this._inFlight;
  }

  /** Open: ms until a probe can be admitted; otherwise 0. */
  retryAfterMs(): number {
    const now = this.clock();
    return this.currentState(now) === 'open' ? Math.max(0, this._expiry - now) : 0;
  }

  snapshot(): BreakerSnapshot {
    const state = this.state;
    const { name, maxRequests, intervalMs, bucketPeriodMs, timeoutMs, callTimeoutMs, maxConcurrent } =
      this.settings;
    const c = this.config;
    return {
      name,
      state,
      counts: this.counts,
      config: {
        maxRequests,
        intervalMs,
        bucketPeriodMs,
        timeoutMs,
        failureThreshold: c.failureThreshold,
        failureRatioThreshold: c.failureRatioThreshold,
        minRequests: c.minRequests,
        callTimeoutMs,
        maxConcurrent,
        customReadyToTrip: c.readyToTrip !== undefined,
      },
      retryAfterMs: this.retryAfterMs(),
    };
  }

  /**
   * Runs `fn` if admitted. Admission (and its rejection) happens synchronously, before any await.
   * Rejects with BulkheadRejectedError (checked first), CircuitOpenError or TooManyRequestsError
   * without running `fn` or touching counts; a timed-out call rejects with CallTimeoutError.
   */
  execute<T>(fn: GuardedCall<T>): Promise<T> {
    if (this.executor.available < 1) return this.rejectBulkhead();
    const now = this.clock();
    if (this.disabled) return this.passThrough(fn, now);
    const state = this.currentState(now);
    if (state === 'open') return this.rejectOpen(now);
    const rolling = this.rolling;
    if (state === 'half-open' && rolling.validRequests() >= this.settings.maxRequests)
      return this.rejectTooMany();
    rolling.onRequest();
    const generation = this._generation;
    const age = rolling.age;
    const controller = this.executor.controllerForCall(fn);
    this._inFlight++;
    return this.executor.fire(fn, controller).then(
      (value) => {
        this.afterRequest(generation, age, now, false, undefined);
        return value;
      },
      (err: unknown) => {
        const failure = this.executor.failureOf(err, controller);
        this.afterRequest(generation, age, now, true, failure);
        throw failure;
      },
    );
  }

  /**
   * gobreaker's TwoStepCircuitBreaker.Allow(): admits synchronously (throwing the rejection) and
   * returns the callback that reports the outcome.
   */
  allow(): (outcome: TwoStepOutcome) => void {
    const now = this.clock();
    const state = this.currentState(now);
    if (state === 'open') throw this.openError(now);
    if (state === 'half-open' && this.rolling.validRequests() >= this.settings.maxRequests) {
      this.count('limited');
      throw tooManyRejection(this.settings.name, this.tooManyMessage);
    }
    this.rolling.onRequest();
    const generation = this._generation;
    const age = this.rolling.age;
    let done = false;
    return (outcome) => {
      if (done) return;
      done = true;
      const result: BreakerCallResult =
        outcome === true ? 'success' : outcome === false ? 'failure' : outcome;
      this.record(generation, age, now, result);
    };
  }

  /** Stops the executor's timers and the metrics of this breaker. */
  shutdown(): void {
    this.executor.shutdown();
    this.recorder?.close();
  }

  private passThrough<T>(fn: GuardedCall<T>, now: number): Promise<T> {
    const controller = this.executor.controllerForCall(fn);
    return this.executor.fire(fn, controller).then(
      (value) => {
        this.recorder?.observe('success', (this.clock() - now) / 1000);
        return value;
      },
      (err: unknown) => {
        const failure = this.executor.failureOf(err, controller);
        this.recorder?.observe(this.successful(failure) ? 'success' : 'failure', (this.clock() - now) / 1000);
        throw failure;
      },
    );
  }

  private afterRequest(generation: number, age: number, started: number, threw: boolean, err: unknown): void {
    this._inFlight--;
    let result: BreakerCallResult;
    const reported = threw ? err : undefined;
    if (this.excluded !== undefined && this.excluded(reported)) result = 'excluded';
    // A rejection without a reason is still a failed call, not "no error" (custom classifiers decide themselves).
    else if (threw && !this.customSuccessful && (reported === undefined || reported === null))
      result = 'failure';
    else if (threw || this.customSuccessful) result = this.successful(reported) ? 'success' : 'failure';
    else result = 'success';
    this.record(generation, age, started, result);
  }

  private record(generation: number, age: number, started: number, result: BreakerCallResult): void {
    const now = this.clock();
    const state = this.currentState(now);
    this.recorder?.observe(result, (now - started) / 1000);
    if (generation !== this._generation) return;
    if (result === 'excluded') {
      this.rolling.onExclusion(age);
    } else if (result === 'success') {
      this.rolling.onSuccess(age);
      if (state === 'half-open' && this.rolling.consecutiveSuccesses >= this.settings.maxRequests) {
        this.setState('closed', now);
      }
    } else if (state === 'closed') {
      this.rolling.onFailure(age);
      if (this.settings.readyToTrip(this.rolling.snapshot())) this.setState('open', now);
    } else if (state === 'half-open') {
      this.setState('open', now);
    }
  }

  private currentState(now: number): BreakerState {
    switch (this._state) {
      case 'closed':
        if (this._expiry !== 0 && this._expiry < now) this.toNewGeneration(now);
        else if (this.rolling.buckets.length >= 2) this.rolling.grow(this.ageAt(now));
        break;
      case 'open':
        if (this._expiry < now) this.setState('half-open', now);
        break;
      case 'half-open':
        break;
      default: {
        const never: never = this._state;
        throw new Error(`unknown breaker state ${String(never)}`);
      }
    }
    return this._state;
  }

  private ageAt(now: number): number {
    const period = this.settings.bucketPeriodMs;
    if (period === 0) return 0;
    const age = Math.floor((now - this._start) / period);
    return age < 0 ? 0 : age;
  }

  private setState(to: BreakerState, now: number): void {
    const from = this._state;
    if (from === to) return;
    this._state = to;
    this.toNewGeneration(now);
    this.notify(from, to);
  }

  private toNewGeneration(now: number): void {
    this._generation++;
    this._start = now;
    this.rolling.clear();
    switch (this._state) {
      case 'closed':
        this._expiry =
          this.settings.intervalMs === 0 || this.rolling.buckets.length >= 2
            ? 0
            : now + this.settings.intervalMs;
        break;
      case 'open':
        this._expiry = now + this.settings.timeoutMs;
        break;
      default:
        this._expiry = 0;
    }
  }

  private notify(from: BreakerState, to: BreakerState): void {
    const name = this.settings.name;
    this.recorder?.transition(from, to);
    const line = `circuit breaker ${name}: ${from} -> ${to}`;
    if (to === 'open') this.logger.warn(line);
    else this.logger.log(line);
    try {
      this.settings.onStateChange?.(name, from, to);
    } catch (err: unknown) {
      this.logger.error(`onStateChange of ${name} threw: ${(err as Error)?.message ?? String(err)}`);
    }
    if (this.alerter === undefined) return;
    if (to === 'open') this.alert(`circuit breaker ${name} opened (${from} -> open)`, 'warning');
    else if (from === 'half-open' && to === 'closed')
      this.alert(`circuit breaker ${name} recovered (half-open -> closed)`, 'info');
  }

  private alert(message: string, severity: 'warning' | 'info'): void {
    const name = this.settings.name;
    const onError = (err: unknown): void => {
      this.logger.error(`alert for ${name} failed: ${(err as Error)?.message ?? String(err)}`);
    };
    try {
      const pending = this.alerter?.sendAlert(name, message, severity);
      if (pending !== undefined) pending.catch(onError);
    } catch (err: unknown) {
      onError(err);
    }
  }

  private count(result: 'rejected' | 'limited'): void {
    if (this.recorder !== undefined) this.recorder[result]++;
  }

  private openError(now: number): CircuitOpenError {
    this.count('rejected');
    const retryAfterMs = Math.max(0, this._expiry - now);
    return openRejection(this.settings.name, this.openMessage, retryAfterMs);
  }

  private rejectOpen<T>(now: number): Promise<T> {
    return Promise.reject(this.openError(now));
  }

  private rejectTooMany<T>(): Promise<T> {
    this.count('limited');
    return Promise.reject(tooManyRejection(this.settings.name, this.tooManyMessage));
  }

  private rejectBulkhead<T>(): Promise<T> {
    this.count('limited');
    return Promise.reject(bulkheadRejection(this.settings.name, this.bulkheadMessage));
  }
}
