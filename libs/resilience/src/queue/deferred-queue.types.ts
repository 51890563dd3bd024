import type { LoggerService } from '@nestjs/common';
import type { ColumnType, Generated } from 'kysely';
import type { Registry } from 'prom-client';
import type { Clock } from '../breaker/breaker.types';

/**
 * pending → claimed → completed (an operator handles it) or pending → replaying → replayed (the
 * replayer handed it to the downstream); replaying → pending on failure, rejection or lease expiry;
 * replaying → failed when the failure is permanent; pending | claimed | failed → cancelled.
 */
export type DeferredQueueStatus =
  'pending' | 'claimed' | 'replaying' | 'replayed' | 'completed' | 'failed' | 'cancelled';

export const DEFERRED_QUEUE_STATUSES: readonly DeferredQueueStatus[] = [
  'pending',
  'claimed',
  'replaying',
  'replayed',
  'completed',
  'failed',
  'cancelled',
];

/** The part of Nest's LoggerService the queue and replayer write to. */
export type QueueLogger = Pick<LoggerService, 'log' | 'warn' | 'error'>;

export interface DeferredQueueEntry<P> {
  /** bigint as a string. */
  id: string;
  queue: string;
  key: string;
  payload: P;
  status: DeferredQueueStatus;
  /** Why the work was deferred (e.g. 'bbd-dispatch circuit open'). */
  reason: string | null;
  /** Failed replays so far. */
  attempts: number;
  enqueuedAt: Date;
  updatedAt: Date;
  claimedBy: string | null;
  claimedAt: Date | null;
  /** Replayer holding the entry while `replaying`. */
  leaseOwner: string | null;
  leaseExpiresAt: Date | null;
  completedAt: Date | null;
  /** What the handler or the operator returned. */
  result: unknown;
  lastError: string | null;
}

export interface DeferredQueueEvent {
  id: string;
  entryId: string;
  queue: string;
  /** null for the creation event. */
  fromStatus: DeferredQueueStatus | null;
  toStatus: DeferredQueueStatus;
  actor: string;
  at: Date;
  detail: unknown;
}

export interface EnqueueInput<P> {
  /** Idempotency key, unique per queue. */
  key: string;
  payload: P;
  reason?: string;
  /** Recorded on the creation event. Default 'system'. */
  actor?: string;
}

export interface EnqueueResult<P> {
  entry: DeferredQueueEntry<P>;
  /** false when the key was already queued: `entry` is the existing one, untouched. */
  created: boolean;
}

export interface ListOptions {
  status?: DeferredQueueStatus | DeferredQueueStatus[];
  /** Default 100. */
  limit?: number;
  offset?: number;
}

export interface DeferredQueueStats {
  /** Entries per status (every status present, 0 when none). */
  depth: Record<DeferredQueueStatus, number>;
  /** Age of the oldest pending entry in seconds; 0 when none. */
  oldestPendingAgeSeconds: number;
}

export interface DeferredQueueOptions {
  /** Queue name (metric label), e.g. 'manual-dispatch' or 'payment-outbox'. */
  name: string;
  /**
   * The service's Database (its schema is used) or a Kysely instance (give `schema`, or rely on
   * a Kysely already bound with withSchema / search_path).
   */
  db: QueueDatabase;
  /** Schema of the queue tables when `db` is a bare Kysely. */
  schema?: string;
  /** Default Date.now; every timestamp the queue writes comes from it. */
  clock?: Clock;
  /** deferred_queue_* metrics go here; several queues may share one registry. */
  registry?: Registry;
  /** Depth / oldest-age cache for scrapes, ms. Default 1000. */
  statsCacheMs?: number;
  logger?: QueueLogger;
}

/** Any Kysely instance or transaction, whatever its table types (the queue uses its own). */
export interface KyselyLike {
  withSchema(schema: string): unknown;
  transaction(): unknown;
}

/** A `Database<DB>` from the data layer, or a Kysely instance. */
export type QueueDatabase = { readonly db: KyselyLike; readonly schema: string } | KyselyLike;

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** Kysely table types of the queue's two tables. */
export interface DeferredQueueTables {
  deferred_queue_entries: {
    id: Generated<string>;
    queue: string;
    key: string;
    payload: unknown;
    status: DeferredQueueStatus;
    reason: string | null;
    attempts: Generated<number>;
    enqueued_at: Timestamp;
    updated_at: Timestamp;
    claimed_by: string | null;
    claimed_at: NullableTimestamp;
    lease_owner: string | null;
    lease_expires_at: NullableTimestamp;
    completed_at: NullableTimestamp;
    result: unknown;
    last_error: string | null;
  };
  deferred_queue_events: {
    id: Generated<string>;
    entry_id: string;
    queue: string;
    from_status: DeferredQueueStatus | null;
    to_status: DeferredQueueStatus;
    actor: string;
    at: Timestamp;
    detail: unknown;
  };
}
