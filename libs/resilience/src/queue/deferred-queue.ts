import { Logger } from '@nestjs/common';
import { Kysely, sql, Updateable } from 'kysely';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Clock } from '../breaker/breaker.types';
import {
  DEFERRED_QUEUE_STATUSES,
  DeferredQueueEntry,
  DeferredQueueEvent,
  DeferredQueueOptions,
  DeferredQueueStats,
  DeferredQueueStatus,
  DeferredQueueTables,
  EnqueueInput,
  EnqueueResult,
  KyselyLike,
  ListOptions,
  QueueLogger,
} from './deferred-queue.types';
import { QueueEntryConflictError } from './queue-entry-conflict.error';
import { QueueEntryNotFoundError } from './queue-entry-not-found.error';

type Db = Kysely<DeferredQueueTables>;
type EntryRow = DeferredQueueTables['deferred_queue_entries'];
type SelectedEntry = {
  [K in keyof EntryRow]: EntryRow[K] extends { __select__: infer S } ? S : EntryRow[K];
};
type EventRow = Omit<DeferredQueueEvent, 'id' | 'queue'> & { detail?: unknown };

/** Outcome label of deferred_queue_replays_total. */
export type ReplayOutcome = 'success' | 'failure' | 'rejected' | 'deferred';

export interface MoveOptions {
  /** Lets someone other than the holder (e.g. a supervisor) act on a claimed entry. */
  force?: boolean;
  /** Stored on the event row. */
  detail?: unknown;
  /** Run inside the caller's transaction (e.g. with the row the entry stands for locked). */
  trx?: KyselyLike;
}

export interface LeaseOptions {
  limit: number;
  leaseMs: number;
  /** Only the oldest active entry may be leased, and only while nothing older is claimed or replaying. */
  ordered?: boolean;
}

const ENTRIES = 'deferred_queue_entries' as const;
const EVENTS = 'deferred_queue_events' as const;
const ID = /^[0-9]{1,19}$/;

interface QueueMetrics {
  depth: Gauge<'queue' | 'status'>;
  oldest: Gauge<'queue'>;
  replays: Counter<'queue' | 'outcome'>;
}

// Queues reporting into each registry: one scrape-time collect serves them all.
const queuesByRegistry = new WeakMap<Registry, Set<DeferredQueue<unknown>>>();

/**
 * A durable, idempotent queue of deferred work in Postgres. Operators claim and complete entries;
 * a QueueReplayer leases pending ones and hands them to the recovered downstream. Every move is
 * an event row. Several named queues share the two tables of a schema.
 */
export class DeferredQueue<P> {
  readonly name: string;
  private readonly db: Db;
  private readonly schema: string | undefined;
  private readonly clock: Clock;
  private readonly logger: QueueLogger;
  private readonly statsCacheMs: number;
  private readonly registry: Registry | undefined;
  private readonly metrics: QueueMetrics | undefined;
  private statsCache: { at: number; value: Promise<DeferredQueueStats> } | undefined;

  constructor(options: DeferredQueueOptions) {
    if (!options.name) throw new Error('name: a deferred queue needs a name');
    this.name = options.name;
    const source = options.db;
    const isDatabase = 'db' in source && typeof (source as { schema?: unknown }).schema === 'string';
    const kysely = (isDatabase ? (source as { db: KyselyLike }).db : source) as unknown as Db;
    this.schema = isDatabase ? (source as { schema: string }).schema : options.schema;
    this.db = this.schema ? kysely.withSchema(this.schema) : kysely;
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? new Logger(`DeferredQueue:${options.name}`);
    this.statsCacheMs = options.statsCacheMs ?? 1000;
    this.registry = options.registry;
    this.metrics = options.registry ? registerMetrics(options.registry, this) : undefined;
  }

  /**
   * Adds work under an idempotency key. The same key again returns the existing entry with
   * `created: false`. Pass the caller's transaction to enqueue atomically with its own rows.
   */
  async enqueue(input: EnqueueInput<P>, trx?: KyselyLike): Promise<EnqueueResult<P>> {
    if (!input.key) throw new Error('key: an entry needs an idempotency key');
    return this.inTransaction(trx, async (db) => {
      const now = this.now();
      const inserted = await db
        .insertInto(ENTRIES)
        .values({
          queue: this.name,
          key: input.key,
          payload: jsonb(input.payload),
          status: 'pending',
          reason: input.reason ?? null,
          enqueued_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.columns(['queue', 'key']).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) {
        await this.recordEvents(db, [
          {
            entryId: inserted.id,
            fromStatus: null,
            toStatus: 'pending',
            actor: input.actor ?? 'system',
            at: now,
            detail: input.reason ? { reason: input.reason } : null,
          },
        ]);
        return { entry: this.toEntry(inserted), created: true };
      }
      // ON CONFLICT DO NOTHING waited for the winner to commit, so its row is visible now.
      const existing = await this.byKey(db, input.key);
      if (!existing) throw new QueueEntryNotFoundError(this.name, input.key);
      return { entry: existing, created: false };
    });
  }

  /** @throws QueueEntryNotFoundError */
  async get(id: string): Promise<DeferredQueueEntry<P>> {
    const row = ID.test(id)
      ? await this.db
          .selectFrom(ENTRIES)
          .selectAll()
          .where('queue', '=', this.name)
          .where('id', '=', id)
          .executeTakeFirst()
      : undefined;
    if (!row) throw new QueueEntryNotFoundError(this.name, id);
    return this.toEntry(row);
  }

  /** The entry queued under `key`, or undefined. */
  getByKey(key: string): Promise<DeferredQueueEntry<P> | undefined> {
    return this.byKey(this.db, key);
  }

  /** Entries oldest first (enqueue time, then id). */
  async list(options: ListOptions = {}): Promise<DeferredQueueEntry<P>[]> {
    let query = this.db.selectFrom(ENTRIES).selectAll().where('queue', '=', this.name);
    if (options.status !== undefined) {
      const statuses = Array.isArray(options.status) ? options.status : [options.status];
      if (statuses.length === 0) return [];
      query = query.where('status', 'in', statuses);
    }
    const rows = await query
      .orderBy('enqueued_at')
      .orderBy('id')
      .limit(options.limit ?? 100)
      .offset(options.offset ?? 0)
      .execute();
    return rows.map((row) => this.toEntry(row));
  }

  /** The audit trail of one entry, oldest first. */
  async events(id: string): Promise<DeferredQueueEvent[]> {
    if (!ID.test(id)) return [];
    const rows = await this.db
      .selectFrom(EVENTS)
      .selectAll()
      .where('queue', '=', this.name)
      .where('entry_id', '=', id)
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      entryId: row.entry_id,
      queue: row.queue,
      fromStatus: row.from_status,
      toStatus: row.to_status,
      actor: row.actor,
      at: row.at,
      detail: row.detail,
    }));
  }

  /**
   * pending → claimed, exclusively: the row is locked while checked, so of racing claimers one
   * wins and the others get QueueEntryConflictError naming the holder.
   * @throws QueueEntryNotFoundError | QueueEntryConflictError
   */
  claim(id: string, actor: string, options: MoveOptions = {}): Promise<DeferredQueueEntry<P>> {
    return this.move(
      id,
      actor,
      'claim',
      ['pending'],
      undefined,
      (now) => ({
        status: 'claimed',
        claimed_by: actor,
        claimed_at: now,
      }),
      options,
    );
  }

  /** claimed → pending; only the holder, unless `force`. */
  release(id: string, actor: string, options: MoveOptions = {}): Promise<DeferredQueueEntry<P>> {
    return this.move(
      id,
      actor,
      'release',
      ['claimed'],
      options.force ? undefined : actor,
      () => ({
        status: 'pending',
        claimed_by: null,
        claimed_at: null,
      }),
      options,
    );
  }

  /** claimed → completed with the operator's result; only the holder, unless `force`. */
  complete(
    id: string,
    actor: string,
    result?: unknown,
    options: MoveOptions = {},
  ): Promise<DeferredQueueEntry<P>> {
    return this.move(
      id,
      actor,
      'complete',
      ['claimed'],
      options.force ? undefined : actor,
      (now) => ({
        status: 'completed',
        completed_at: now,
        result: jsonb(result),
      }),
      options,
    );
  }

  /** pending | failed | claimed (holder or `force`) → cancelled. */
  cancel(id: string, actor: string, options: MoveOptions = {}): Promise<DeferredQueueEntry<P>> {
    return this.move(
      id,
      actor,
      'cancel',
      ['pending', 'failed', 'claimed'],
      options.force ? undefined : actor,
      (now) => ({
        status: 'cancelled',
        completed_at: now,
      }),
      options,
    );
  }

  /** failed → pending, for another replay. */
  requeue(id: string, actor: string, options: MoveOptions = {}): Promise<DeferredQueueEntry<P>> {
    return this.move(id, actor, 'requeue', ['failed'], undefined, () => ({ status: 'pending' }), options);
  }

  // ---- replayer side (used by QueueReplayer; public so several replayer designs can share it) ----

  /**
   * pending → replaying for `owner` until now + leaseMs, oldest first, skipping rows another
   * replica is leasing right now (FOR UPDATE SKIP LOCKED).
   */
  async lease(owner: string, options: LeaseOptions): Promise<DeferredQueueEntry<P>[]> {
    return this.inTransaction(undefined, async (db) => {
      let ids: string[];
      if (options.ordered) {
        // Not SKIP LOCKED: waiting for a concurrent leaser and re-reading the head keeps order strict.
        const head = await db
          .selectFrom(ENTRIES)
          .select(['id', 'status'])
          .where('queue', '=', this.name)
          .where('status', 'in', ['pending', 'claimed', 'replaying'])
          .orderBy('enqueued_at')
          .orderBy('id')
          .limit(1)
          .forUpdate()
          .executeTakeFirst();
        ids = head?.status === 'pending' ? [head.id] : [];
      } else {
        const rows = await db
          .selectFrom(ENTRIES)
          .select('id')
          .where('queue', '=', this.name)
          .where('status', '=', 'pending')
          .orderBy('enqueued_at')
          .orderBy('id')
          .limit(options.limit)
          .forUpdate()
          .skipLocked()
          .execute();
        ids = rows.map((row) => row.id);
      }
      if (ids.length === 0) return [];
      const now = this.now();
      const expires = new Date(now.getTime() + options.leaseMs);
      const rows = await db
        .updateTable(ENTRIES)
        .set({ status: 'replaying', lease_owner: owner, lease_expires_at: expires, updated_at: now })
        .where('id', 'in', ids)
        .where('status', '=', 'pending')
        .returningAll()
        .execute();
      await this.recordEvents(
        db,
        rows.map((row) => ({
          entryId: row.id,
          fromStatus: 'pending' as const,
          toStatus: 'replaying' as const,
          actor: owner,
          at: now,
          detail: { leaseExpiresAt: expires.toISOString() },
        })),
      );
      return rows.map((row) => this.toEntry(row)).sort(byQueueOrder);
    });
  }

  /** replaying → pending for leases that expired (a crashed or stuck replayer); counts an attempt. */
  async expireLeases(actor = 'lease-expiry'): Promise<number> {
    return this.inTransaction(undefined, async (db) => {
      const now = this.now();
      const expired = await db
        .selectFrom(ENTRIES)
        .select(['id', 'lease_owner'])
        .where('queue', '=', this.name)
        .where('status', '=', 'replaying')
        .where('lease_expires_at', '<=', now)
        .forUpdate()
        .skipLocked()
        .execute();
      if (expired.length === 0) return 0;
      await db
        .updateTable(ENTRIES)
        .set((eb) => ({
          status: 'pending',
          lease_owner: null,
          lease_expires_at: null,
          attempts: eb('attempts', '+', 1),
          last_error: 'lease expired',
          updated_at: now,
        }))
        .where(
          'id',
          'in',
          expired.map((row) => row.id),
        )
        .execute();
      await this.recordEvents(
        db,
        expired.map((row) => ({
          entryId: row.id,
          fromStatus: 'replaying' as const,
          toStatus: 'pending' as const,
          actor,
          at: now,
          detail: { previousOwner: row.lease_owner, error: 'lease expired' },
        })),
      );
      this.logger.warn(`queue ${this.name}: ${expired.length} expired lease(s) returned to pending`);
      return expired.length;
    });
  }

  /**
   * Extends `owner`'s lease on a replaying entry to `leaseMs` from now. False when `owner` no longer
   * holds it (expired and re-leased, or claimed by an operator meanwhile): the fence a replayer
   * checks right before it acts on an entry of a batch leased earlier.
   */
  async renewLease(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = this.now();
    const row = await this.db
      .updateTable(ENTRIES)
      .set({ lease_expires_at: new Date(now.getTime() + leaseMs), updated_at: now })
      .where('queue', '=', this.name)
      .where('id', '=', id)
      .where('status', '=', 'replaying')
      .where('lease_owner', '=', owner)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /** replaying → replayed. False when `owner` no longer holds the lease (it expired meanwhile). */
  markReplayed(id: string, owner: string, result?: unknown): Promise<boolean> {
    return this.endLease([id], owner, 'replayed', null, false, (now) => ({
      completed_at: now,
      result: jsonb(result),
    }));
  }

  /** replaying → pending after a failed replay: attempts++, last_error. */
  markFailedAttempt(id: string, owner: string, error: string): Promise<boolean> {
    return this.endLease([id], owner, 'pending', { error }, true, () => ({ last_error: error }));
  }

  /** replaying → failed after a permanent failure: attempts++, last_error; no more replays. */
  markPermanentlyFailed(id: string, owner: string, error: string): Promise<boolean> {
    return this.endLease([id], owner, 'failed', { error }, true, (now) => ({
      last_error: error,
      completed_at: now,
    }));
  }

  /** replaying → pending untouched (no attempt counted): the breaker rejected it or it never started. */
  returnUntouched(ids: string[], owner: string, why: string): Promise<boolean> {
    return this.endLease(ids, owner, 'pending', { returned: why }, false, () => ({}));
  }

  /** Depth per status and the oldest pending age, cached for `statsCacheMs` (what scrapes read). */
  stats(): Promise<DeferredQueueStats> {
    const at = this.clock();
    if (this.statsCache && at - this.statsCache.at < this.statsCacheMs) return this.statsCache.value;
    const value = this.readStats(at);
    this.statsCache = { at, value };
    value.catch(() => {
      if (this.statsCache?.value === value) this.statsCache = undefined;
    });
    return value;
  }

  /** Counts one replay outcome in deferred_queue_replays_total. */
  recordReplay(outcome: ReplayOutcome): void {
    this.metrics?.replays.inc({ queue: this.name, outcome });
  }

  /** Stops reporting this queue's metrics (its series are removed). */
  detachMetrics(): void {
    if (!this.registry || !this.metrics) return;
    queuesByRegistry.get(this.registry)?.delete(this as DeferredQueue<unknown>);
    for (const status of DEFERRED_QUEUE_STATUSES) this.metrics.depth.remove({ queue: this.name, status });
    this.metrics.oldest.remove({ queue: this.name });
  }

  private async readStats(at: number): Promise<DeferredQueueStats> {
    const rows = await this.db
      .selectFrom(ENTRIES)
      .select((eb) => ['status', eb.fn.countAll<string>().as('n'), eb.fn.min('enqueued_at').as('oldest')])
      .where('queue', '=', this.name)
      .groupBy('status')
      .execute();
    const depth = Object.fromEntries(DEFERRED_QUEUE_STATUSES.map((s) => [s, 0])) as Record<
      DeferredQueueStatus,
      number
    >;
    let oldestPendingAgeSeconds = 0;
    for (const row of rows) {
      depth[row.status] = Number(row.n);
      if (row.status === 'pending' && row.oldest) {
        oldestPendingAgeSeconds = Math.max(0, (at - new Date(row.oldest).getTime()) / 1000);
      }
    }
    return { depth, oldestPendingAgeSeconds };
  }

  private async move(
    id: string,
    actor: string,
    attempted: string,
    from: DeferredQueueStatus[],
    holder: string | undefined,
    set: (now: Date) => Updateable<EntryRow>,
    options: MoveOptions,
  ): Promise<DeferredQueueEntry<P>> {
    if (!ID.test(id)) throw new QueueEntryNotFoundError(this.name, id);
    const now = this.now();
    const detail =
      options.detail !== undefined && options.detail !== null
        ? jsonb(options.detail)
        : options.force
          ? sql<unknown>`case when prev.claimed_by is distinct from ${actor}::text then jsonb_build_object('forcedOver', prev.claimed_by) end`
          : sql<unknown>`null::jsonb`;
    // One statement, so one round trip: `prev` locks the row and reads the state the checks and the
    // event row see; `moved` changes it only when allowed; an empty `moved` tells why from `prev`.
    const result = await this.on(options.trx)
      .with('prev', (db) =>
        db
          .selectFrom(ENTRIES)
          .select(['id', 'status', 'claimed_by', 'lease_owner'])
          .where('queue', '=', this.name)
          .where('id', '=', id)
          .forUpdate(),
      )
      .with('moved', (db) =>
        db
          .updateTable(ENTRIES)
          .set({ ...set(now), updated_at: now })
          .where('id', '=', id)
          .where(({ exists, selectFrom }) =>
            exists(
              selectFrom('prev')
                .select('prev.id')
                .where('prev.status', 'in', from)
                .$if(holder !== undefined, (qb) =>
                  qb.where((eb) =>
                    eb.or([eb('prev.status', '!=', 'claimed'), eb('prev.claimed_by', '=', holder ?? '')]),
                  ),
                ),
            ),
          )
          .returningAll(),
      )
      .with('event', (db) =>
        db
          .insertInto(EVENTS)
          .columns(['entry_id', 'queue', 'from_status', 'to_status', 'actor', 'at', 'detail'])
          .expression((eb) =>
            eb
              .selectFrom(['moved', 'prev'])
              .select([
                'moved.id',
                'moved.queue',
                'prev.status as from_status',
                'moved.status as to_status',
                sql<string>`${actor}::text`.as('actor'),
                sql<Date>`${now}::timestamptz`.as('at'),
                detail.as('detail'),
              ]),
          ),
      )
      .selectFrom('prev')
      .leftJoin('moved', (join) => join.onTrue())
      .selectAll('moved')
      .select([
        'prev.status as prev_status',
        'prev.claimed_by as prev_claimed_by',
        'prev.lease_owner as prev_lease_owner',
      ])
      .executeTakeFirst();
    if (!result) throw new QueueEntryNotFoundError(this.name, id);
    const { prev_status, prev_claimed_by, prev_lease_owner, ...moved } = result;
    if (moved.id === null) {
      throw new QueueEntryConflictError(
        this.name,
        id,
        prev_status,
        prev_claimed_by ?? prev_lease_owner,
        attempted,
      );
    }
    return this.toEntry(moved as SelectedEntry);
  }

  private async endLease(
    ids: string[],
    owner: string,
    to: DeferredQueueStatus,
    detail: Record<string, unknown> | null,
    countAttempt: boolean,
    values: (now: Date) => Updateable<EntryRow>,
  ): Promise<boolean> {
    if (ids.length === 0) return true;
    return this.inTransaction(undefined, async (db) => {
      const now = this.now();
      const rows = await db
        .updateTable(ENTRIES)
        .set((eb) => ({
          ...values(now),
          status: to,
          lease_owner: null,
          lease_expires_at: null,
          updated_at: now,
          ...(countAttempt ? { attempts: eb('attempts', '+', 1) } : {}),
        }))
        .where('queue', '=', this.name)
        .where('id', 'in', ids)
        .where('status', '=', 'replaying')
        .where('lease_owner', '=', owner)
        .returning('id')
        .execute();
      await this.recordEvents(
        db,
        rows.map((row) => ({
          entryId: row.id,
          fromStatus: 'replaying' as const,
          toStatus: to,
          actor: owner,
          at: now,
          detail,
        })),
      );
      if (rows.length < ids.length) {
        this.logger.warn(
          `queue ${this.name}: ${owner} no longer held ${ids.length - rows.length} lease(s) when moving to ${to}`,
        );
      }
      return rows.length === ids.length;
    });
  }

  private async recordEvents(db: Db, events: EventRow[]): Promise<void> {
    if (events.length === 0) return;
    await db
      .insertInto(EVENTS)
      .values(
        events.map((event) => ({
          entry_id: event.entryId,
          queue: this.name,
          from_status: event.fromStatus,
          to_status: event.toStatus,
          actor: event.actor,
          at: event.at,
          detail: jsonb(event.detail ?? null),
        })),
      )
      .execute();
  }

  private async byKey(db: Db, key: string): Promise<DeferredQueueEntry<P> | undefined> {
    const row = await db
      .selectFrom(ENTRIES)
      .selectAll()
      .where('queue', '=', this.name)
      .where('key', '=', key)
      .executeTakeFirst();
    return row ? this.toEntry(row) : undefined;
  }

  /** Runs `fn` in the caller's transaction when given (schema applied), else in a new one. */
  private inTransaction<T>(trx: KyselyLike | undefined, fn: (db: Db) => Promise<T>): Promise<T> {
    if (trx) return fn(this.on(trx));
    return this.db.transaction().execute((tx) => fn(tx));
  }

  /** The caller's transaction (on this queue's schema), else the queue's own pool. */
  private on(trx: KyselyLike | undefined): Db {
    if (!trx) return this.db;
    const db = trx as unknown as Db;
    return this.schema ? db.withSchema(this.schema) : db;
  }

  private now(): Date {
    return new Date(this.clock());
  }

  private toEntry(row: SelectedEntry): DeferredQueueEntry<P> {
    return {
      id: String(row.id),
      queue: row.queue,
      key: row.key,
      payload: row.payload as P,
      status: row.status,
      reason: row.reason,
      attempts: Number(row.attempts),
      enqueuedAt: row.enqueued_at,
      updatedAt: row.updated_at,
      claimedBy: row.claimed_by,
      claimedAt: row.claimed_at,
      leaseOwner: row.lease_owner,
      leaseExpiresAt: row.lease_expires_at,
      completedAt: row.completed_at,
      result: row.result,
      lastError: row.last_error,
    };
  }
}

function byQueueOrder<P>(a: DeferredQueueEntry<P>, b: DeferredQueueEntry<P>): number {
  const byTime = a.enqueuedAt.getTime() - b.enqueuedAt.getTime();
  return byTime !== 0 ? byTime : Number(BigInt(a.id) - BigInt(b.id));
}

/** pg would turn a JS array into a Postgres array; JSON text cast to jsonb stores any value as-is. */
function jsonb(value: unknown) {
  return sql<unknown>`${JSON.stringify(value ?? null)}::jsonb`;
}

function registerMetrics(registry: Registry, queue: DeferredQueue<unknown>): QueueMetrics {
  let queues = queuesByRegistry.get(registry);
  if (!queues) {
    queues = new Set();
    queuesByRegistry.set(registry, queues);
  }
  const members = queues;
  members.add(queue);
  const collectAll = async (
    apply: (q: DeferredQueue<unknown>, stats: DeferredQueueStats) => void,
  ): Promise<void> => {
    await Promise.all(
      [...members].map(async (q) => {
        try {
          apply(q, await q.stats());
        } catch (err: unknown) {
          // A scrape must not fail because the database is down; the last values stay.
          new Logger('DeferredQueue').warn(
            `queue ${q.name}: depth unavailable: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }),
    );
  };
  const depth =
    (registry.getSingleMetric('deferred_queue_depth') as Gauge<'queue' | 'status'> | undefined) ??
    new Gauge({
      name: 'deferred_queue_depth',
      help: 'Deferred queue entries by status (read at scrape time)',
      labelNames: ['queue', 'status'],
      registers: [registry],
      async collect() {
        await collectAll((q, stats) => {
          for (const status of DEFERRED_QUEUE_STATUSES)
            depth.set({ queue: q.name, status }, stats.depth[status]);
        });
      },
    });
  const oldest =
    (registry.getSingleMetric('deferred_queue_oldest_pending_age_seconds') as Gauge<'queue'> | undefined) ??
    new Gauge({
      name: 'deferred_queue_oldest_pending_age_seconds',
      help: 'Age of the oldest pending entry of a deferred queue, in seconds (0 when none)',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        await collectAll((q, stats) => oldest.set({ queue: q.name }, stats.oldestPendingAgeSeconds));
      },
    });
  const replays =
    (registry.getSingleMetric('deferred_queue_replays_total') as Counter<'queue' | 'outcome'> | undefined) ??
    new Counter({
      name: 'deferred_queue_replays_total',
      help: 'Entries handed to a deferred queue replayer handler, by outcome',
      labelNames: ['queue', 'outcome'],
      registers: [registry],
    });
  for (const outcome of ['success', 'failure', 'rejected', 'deferred'] as const)
    replays.inc({ queue: queue.name, outcome }, 0);
  return { depth, oldest, replays };
}
