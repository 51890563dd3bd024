import type { LoggerService } from '@nestjs/common';
import type { Registry } from 'prom-client';
import type { Breaker, Clock } from '../breaker/breaker.types';

/** What a failure means: `safe` — the provider did nothing, move on; `unknown` — it may have acted. */
export type FailureClass = 'safe' | 'unknown';

/** What the provider says happened to a call whose outcome was unknown (asked by the same reference). */
export type UnknownOutcomeResolution<T> = { outcome: 'found'; value: T } | { outcome: 'absent' };

export interface FailoverProvider<T> {
  name: string;
  /** failover() runs `call` through this breaker; `call` must not use the same breaker itself. */
  breaker: Breaker;
  /** The work; `signal` fires on the breaker's deadline or the caller's signal. */
  call: (signal: AbortSignal) => Promise<T>;
  /** Default `defaultFailureClass`. */
  classify?: (err: unknown) => FailureClass;
  /**
   * Asked after an `unknown` failure. `found` → its value is the result; `absent` → move on (the
   * hook has expired/cancelled whatever might exist). If it throws, failover records it and moves
   * on. Without a hook an unknown failure also moves on: give one to every provider with side effects.
   */
  resolveUnknown?: (err: unknown) => Promise<UnknownOutcomeResolution<T>>;
}

export type FailoverAttemptOutcome = 'success' | 'failure' | 'rejected' | 'skipped';

export interface FailoverAttempt {
  provider: string;
  outcome: FailoverAttemptOutcome;
  /** Error message (failure, rejected) or why it was skipped. */
  error?: string;
  /** The failure was classified `unknown` (resolveUnknown was asked, if there was one). */
  unknownOutcome?: boolean;
  /** e.g. "found after unknown outcome", "resolveUnknown failed: …". */
  note?: string;
  durationMs: number;
}

export interface FailoverOptions {
  /** Group name: metric label and error field. Default 'default'. */
  group?: string;
  registry?: Registry;
  logger?: LoggerService;
  /** Caller's cancellation: passed to each call; once it fired no further provider is tried and failover rejects with its reason. */
  signal?: AbortSignal;
  clock?: Clock;
}

export interface FailoverResult<T> {
  value: T;
  /** Name of the provider that produced the value. */
  provider: string;
  attempts: FailoverAttempt[];
}
