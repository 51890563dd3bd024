import { Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Breaker, Clock } from '../breaker/breaker.types';
import { settleWithin } from '../async/settle-within';
import { isBreakerRejection } from '../errors';
import type { DeferredQueue, ReplayOutcome } from './deferred-queue';
import type { DeferredQueueEntry, QueueLogger } from './deferred-queue.types';

export interface QueueReplayerOptions<P> {
  queue: DeferredQueue<P>;
  /** The downstream's breaker: entries go out at the pace it admits. */
  breaker: Breaker;
  /** Replays one entry; `signal` aborts when the breaker's call deadline passes or on forced stop. */
  handler: (entry: DeferredQueueEntry<P>, signal: AbortSignal) => Promise<unknown>;
  /** Default Date.now (the queue has its own clock for timestamps). */
  clock?: Clock;
  /** Time between passes when idle. Default 5000 ms. */
  pollIntervalMs?: number;
  /** Entries leased per round while the breaker is closed. Default 20. */
  batchSize?: number;
  /** Concurrent handler calls while the breaker is closed. Default 4. */
  concurrency?: number;
  /** Outbox mode: strictly one at a time in enqueue order, stopping at the first failure. */
  ordered?: boolean;
  /** How long a leased entry is ours; must exceed the handler's worst case (the breaker's callTimeoutMs). Default 60 000 ms. */
  leaseMs?: number;
  /** stop() waits this long for in-flight handlers, then aborts them. Default 10 000 ms. */
  stopTimeoutMs?: number;
  /** Failures that will never succeed (e.g. a 4xx): the entry goes to `failed` instead of back to pending. */
  isPermanentFailure?: (err: unknown) => boolean;
  /** Lease owner and event actor. Default `replayer:<host>:<pid>:<random>`. */
  id?: string;
  logger?: QueueLogger;
}

/**
 * What a handler returns when the downstream answered but the entry is not done yet (e.g. what it
 * must act on is not visible there yet): the breaker sees a healthy call, and the entry goes back
 * to pending (an attempt counted, `reason` as its last error) for a later pass.
 */
export class ReplayDeferred {
  constructor(readonly reason: string) {}
}

export function isReplayDeferred(value: unknown): value is ReplayDeferred {
  return value instanceof ReplayDeferred;
}

export interface DrainResult {
  /** Handler calls made. */
  handed: number;
  succeeded: number;
  failed: number;
  /** Entries the breaker refused (returned to pending untouched). */
  rejected: number;
  /** Handler calls that returned ReplayDeferred (back to pending for a later pass). */
  deferred: number;
  /** Leases that had expired and were returned to pending at the start of the pass. */
  expired: number;
}

/**
 * Hands a DeferredQueue's pending entries to a handler through a breaker, oldest first, each
 * leased (FOR UPDATE SKIP LOCKED) so replicas running replayers on one queue never hand the same
 * entry twice. Waits while the breaker is open, sends one probe at a time while half-open.
 */
export class QueueReplayer<P> {
  readonly id: string;
  private readonly queue: DeferredQueue<P>;
  private readonly breaker: Breaker;
  private readonly handler: QueueReplayerOptions<P>['handler'];
  private readonly pollIntervalMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly ordered: boolean;
  private readonly leaseMs: number;
  private readonly stopTimeoutMs: number;
  private readonly isPermanentFailure: (err: unknown) => boolean;
  private readonly logger: QueueLogger;
  private running = false;
  private stopping = false;
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<DrainResult> | undefined;
  private again = false;
  private shutdown = new AbortController();

  constructor(options: QueueReplayerOptions<P>) {
    this.queue = options.queue;
    this.breaker = options.breaker;
    this.handler = options.handler;
    this.pollIntervalMs = positive('pollIntervalMs', options.pollIntervalMs ?? 5000);
    this.batchSize = positive('batchSize', options.batchSize ?? 20);
    this.concurrency = positive('concurrency', options.concurrency ?? 4);
    this.ordered = options.ordered ?? false;
    this.leaseMs = positive('leaseMs', options.leaseMs ?? 60_000);
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    this.isPermanentFailure = options.isPermanentFailure ?? (() => false);
    this.id = options.id ?? `replayer:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.logger = options.logger ?? new Logger(`QueueReplayer:${options.queue.name}`);
  }

  /** Starts polling (first pass at once). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    this.shutdown = new AbortController();
    this.schedule(0);
  }

  /** Triggers a pass now instead of at the next poll (e.g. right after an enqueue). */
  kick(): void {
    if (!this.running) return;
    if (this.pass) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Stops polling and waits for in-flight handler calls; past `stopTimeoutMs` they are aborted
   * (their entries go back to pending, or come back when their lease expires).
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const pass = this.pass;
    if (!pass) return;
    if (!(await settlesWithin(pass, this.stopTimeoutMs))) {
      this.logger.warn(
        `replayer ${this.id}: in-flight replays outlived ${this.stopTimeoutMs} ms; aborting them`,
      );
      this.shutdown.abort(new Error('replayer stopped'));
      await settlesWithin(pass, this.stopTimeoutMs);
    }
  }

  /** One pass now (after any pass in progress): hands entries until none is left or the breaker refuses. */
  async drainOnce(): Promise<DrainResult> {
    while (this.pass) await this.pass.catch(() => undefined);
    return this.runPass();
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, delayMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.pass || !this.running) return;
    try {
      await this.runPass();
    } catch (err: unknown) {
      this.logger.error(`replayer ${this.id}: pass failed: ${message(err)}`);
    }
    if (this.again) {
      this.again = false;
      this.schedule(0);
    } else if (this.breaker.state === 'open') {
      // gobreaker moves to half-open strictly after the timeout, hence +1; never sleep past a poll,
      // so a clock that jumps or a breaker reconfigured meanwhile is noticed.
      this.schedule(Math.min(this.pollIntervalMs, Math.max(1, this.breaker.retryAfterMs() + 1)));
    } else {
      this.schedule(this.pollIntervalMs);
    }
  }

  private runPass(): Promise<DrainResult> {
    const pass = this.drain().finally(() => {
      if (this.pass === pass) this.pass = undefined;
    });
    this.pass = pass;
    return pass;
  }

  private async drain(): Promise<DrainResult> {
    const result: DrainResult = { handed: 0, succeeded: 0, failed: 0, rejected: 0, deferred: 0, expired: 0 };
    result.expired = await this.queue.expireLeases(this.id);
    for (;;) {
      if (this.stopping) return result;
      const state = this.breaker.state;
      if (state === 'open') return result;
      // Half-open: one probe at a time, so a failing probe stops the rest.
      const careful = this.ordered || state === 'half-open';
      const entries = await this.queue.lease(this.id, {
        limit: careful ? 1 : this.batchSize,
        leaseMs: this.leaseMs,
        ordered: this.ordered,
      });
      if (entries.length === 0) return result;
      const notDoneBefore = result.failed + result.deferred;
      const halted = await this.handBatch(entries, careful ? 1 : this.concurrency, result);
      // After a failure or a deferral the rest waits for the next poll: no hot loop on an entry
      // that came straight back to pending, nor on a downstream the breaker still admits.
      if (halted || result.failed + result.deferred > notDoneBefore) return result;
    }
  }

  /** Returns true when the pass must end (rejection, ordered failure or stop). */
  private async handBatch(
    entries: DeferredQueueEntry<P>[],
    concurrency: number,
    result: DrainResult,
  ): Promise<boolean> {
    const waiting = [...entries];
    let halted = false;
    // Leases are renewed one after another, so handlers still start oldest first.
    let turns: Promise<unknown> = Promise.resolve();
    const worker = async (): Promise<void> => {
      while (!halted && waiting.length > 0) {
        if (this.stopping) break;
        const entry = waiting.shift() as DeferredQueueEntry<P>;
        const held = turns.then(() => this.queue.renewLease(entry.id, this.id, this.leaseMs));
        turns = held.catch(() => undefined);
        const outcome = await this.handOne(entry, held, result);
        if (outcome === 'rejected' || (this.ordered && outcome === 'failure')) halted = true;
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, entries.length) }, worker));
    if (waiting.length > 0) {
      await this.queue.returnUntouched(
        waiting.map((entry) => entry.id),
        this.id,
        'not started',
      );
    }
    return halted || this.stopping;
  }

  /**
   * `held`: the entry's lease renewed just now. The batch was leased before this entry's turn, so
   * it is acted on only while the lease is still ours, with a whole lease ahead (it may have
   * expired and gone to another replica or to an operator meanwhile).
   */
  private async handOne(
    entry: DeferredQueueEntry<P>,
    held: Promise<boolean>,
    result: DrainResult,
  ): Promise<ReplayOutcome | 'lost'> {
    const renewedAt = Date.now();
    const stillOurs = await held.catch((err: unknown) => {
      this.logger.error(
        `queue ${this.queue.name}: could not renew the lease on entry ${entry.id}: ${message(err)}`,
      );
      return false;
    });
    if (!stillOurs) {
      this.logger.warn(
        `queue ${this.queue.name}: entry ${entry.id} not replayed: its lease is no longer ours`,
      );
      return 'lost';
    }
    let outcome: ReplayOutcome;
    let value: unknown;
    let error: unknown;
    let handling: Promise<unknown> | undefined;
    try {
      value = await this.breaker.execute((signal) => {
        handling = this.handler(entry, AbortSignal.any([signal, this.shutdown.signal]));
        return handling;
      });
      outcome = isReplayDeferred(value) ? 'deferred' : 'success';
    } catch (err: unknown) {
      error = err;
      outcome = isBreakerRejection(err) ? 'rejected' : 'failure';
    }
    if (outcome === 'failure' && handling) {
      // The breaker's deadline ended the call, but the handler may still be acting (a write after
      // the downstream answered). The entry stays leased until it settles, and what it did decides.
      const settled = await settleWithin(handling, this.leaseMs - (Date.now() - renewedAt) - LEASE_MARGIN_MS);
      if (settled === undefined) {
        this.queue.recordReplay(outcome);
        this.logger.error(
          `queue ${this.queue.name}: entry ${entry.id}'s handler outlived the breaker deadline and its lease; left to expire`,
        );
        return outcome;
      }
      if (settled.ok) {
        outcome = isReplayDeferred(settled.value) ? 'deferred' : 'success';
        value = settled.value;
      } else if (!isAbortOrDeadline(settled.error)) {
        // The handler's own failure says more than the deadline (and may be permanent).
        error = settled.error;
      }
    }
    this.queue.recordReplay(outcome);
    try {
      await this.record(entry, outcome, value, error, result);
    } catch (err: unknown) {
      // The entry stays leased; it comes back when the lease expires.
      this.logger.error(
        `queue ${this.queue.name}: could not record ${outcome} of entry ${entry.id}: ${message(err)}`,
      );
    }
    return outcome;
  }

  private async record(
    entry: DeferredQueueEntry<P>,
    outcome: ReplayOutcome,
    value: unknown,
    error: unknown,
    result: DrainResult,
  ): Promise<void> {
    switch (outcome) {
      case 'success':
        result.handed++;
        result.succeeded++;
        await this.queue.markReplayed(entry.id, this.id, value);
        return;
      case 'deferred':
        result.handed++;
        result.deferred++;
        await this.queue.markFailedAttempt(entry.id, this.id, (value as ReplayDeferred).reason);
        return;
      case 'rejected':
        result.rejected++;
        await this.queue.returnUntouched([entry.id], this.id, message(error));
        return;
      case 'failure': {
        result.handed++;
        result.failed++;
        const text = message(error);
        if (this.isPermanentFailure(error)) {
          this.logger.warn(`queue ${this.queue.name}: entry ${entry.id} failed permanently: ${text}`);
          await this.queue.markPermanentlyFailed(entry.id, this.id, text);
        } else {
          await this.queue.markFailedAttempt(entry.id, this.id, text);
        }
        return;
      }
      default: {
        const never: never = outcome;
        throw new Error(`unexpected outcome ${String(never)}`);
      }
    }
  }
}

function positive(field: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new Error(`${field}: must be a positive number, got ${value}`);
  return value;
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/** The handler only echoed the abort or the deadline that ended the call. */
function isAbortOrDeadline(err: unknown): boolean {
  const { name, code } = (err ?? {}) as { name?: unknown; code?: unknown };
  return name === 'AbortError' || code === 'ABORT_ERR' || code === 'CALL_TIMEOUT';
}

/** Kept back from a lease when waiting inside it, so the lease cannot run out under the wait. */
const LEASE_MARGIN_MS = 1000;

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return (await settleWithin(promise, ms)) !== undefined;
}
