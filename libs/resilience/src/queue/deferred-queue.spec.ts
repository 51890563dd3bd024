import { Registry } from 'prom-client';
import { createDatabase } from '../database';
import { createTestDatabase, TestDatabase, testDatabaseUrl } from '../../../../test/support/postgres';
import { DeferredQueue } from './deferred-queue';
import { deferredQueueMigrations } from './deferred-queue.migrations';
import type { DeferredQueueTables } from './deferred-queue.types';
import { QueueEntryConflictError } from './queue-entry-conflict.error';
import { QueueEntryNotFoundError } from './queue-entry-not-found.error';

interface Job {
  orderId: string;
  stops: string[];
}

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };
let database: TestDatabase<DeferredQueueTables>;
let seq = 0;

function newQueue(extra: Partial<ConstructorParameters<typeof DeferredQueue>[0]> = {}): DeferredQueue<Job> {
  seq += 1;
  return new DeferredQueue<Job>({ name: `q${seq}`, db: database, logger: silent, ...extra });
}

function job(n: number): Job {
  return { orderId: `order-${n}`, stops: [`a${n}`, `b${n}`] };
}

beforeAll(async () => {
  database = await createTestDatabase<DeferredQueueTables>('deferred_queue', { logger: silent });
  await database.migrate(deferredQueueMigrations());
});

afterAll(async () => {
  await database.close();
});

describe('DeferredQueue enqueue', () => {
  it('creates a pending entry once per key and returns the existing one after', async () => {
    const queue = newQueue();
    const first = await queue.enqueue({
      key: 'k1',
      payload: job(1),
      reason: 'circuit open',
      actor: 'order-api',
    });
    expect(first.created).toBe(true);
    expect(first.entry).toMatchObject({ key: 'k1', status: 'pending', attempts: 0, reason: 'circuit open' });
    expect(first.entry.payload).toEqual(job(1));

    const again = await queue.enqueue({ key: 'k1', payload: job(2) });
    expect(again.created).toBe(false);
    expect(again.entry.id).toBe(first.entry.id);
    expect(again.entry.payload).toEqual(job(1));

    const events = await queue.events(first.entry.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ fromStatus: null, toStatus: 'pending', actor: 'order-api' });
  });

  it('keeps one row when 20 enqueues of one key race', async () => {
    const queue = newQueue();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => queue.enqueue({ key: 'same', payload: job(i) })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.entry.id)).size).toBe(1);
    expect(await queue.list()).toHaveLength(1);
  });

  it('enqueues inside the caller transaction (outbox): rollback leaves nothing, commit keeps it', async () => {
    const queue = newQueue();
    await expect(
      database.db.transaction().execute(async (trx) => {
        await queue.enqueue({ key: 'rolled-back', payload: job(1) }, trx);
        throw new Error('caller failed');
      }),
    ).rejects.toThrow('caller failed');
    expect(await queue.getByKey('rolled-back')).toBeUndefined();

    await database.db.transaction().execute(async (trx) => {
      await queue.enqueue({ key: 'committed', payload: job(2) }, trx);
    });
    expect((await queue.getByKey('committed'))?.status).toBe('pending');
  });

  it('moves an entry inside the caller transaction: rollback undoes the claim, commit keeps it', async () => {
    const queue = newQueue();
    const { entry } = await queue.enqueue({ key: 'in-trx', payload: job(1) });
    await expect(
      database.db.transaction().execute(async (trx) => {
        await queue.claim(entry.id, 'alice', { trx });
        throw new Error('the caller found the order already dispatched');
      }),
    ).rejects.toThrow('already dispatched');
    expect(await queue.get(entry.id)).toMatchObject({ status: 'pending', claimedBy: null });
    expect((await queue.events(entry.id)).map((e) => e.toStatus)).toEqual(['pending']);

    await database.db.transaction().execute(async (trx) => {
      await queue.claim(entry.id, 'alice', { trx });
      await queue.complete(entry.id, 'alice', { vehicle: 'B 1234 XY' }, { trx });
    });
    expect(await queue.get(entry.id)).toMatchObject({
      status: 'completed',
      result: { vehicle: 'B 1234 XY' },
    });
  });

  it('separates queues sharing the tables and lists oldest first with filters', async () => {
    let now = 1_700_000_000_000;
    const queue = newQueue({ clock: () => now });
    const other = newQueue();
    await other.enqueue({ key: 'x', payload: job(0) });
    for (const n of [1, 2, 3, 4]) {
      await queue.enqueue({ key: `k${n}`, payload: job(n) });
      now -= 1000; // later keys are older: list must follow time, not id
    }
    expect((await queue.list()).map((e) => e.key)).toEqual(['k4', 'k3', 'k2', 'k1']);
    expect((await queue.list({ limit: 2, offset: 1 })).map((e) => e.key)).toEqual(['k3', 'k2']);
    const k2 = (await queue.getByKey('k2'))!;
    await queue.claim(k2.id, 'alice');
    expect((await queue.list({ status: 'claimed' })).map((e) => e.key)).toEqual(['k2']);
    expect((await queue.list({ status: ['pending'] })).map((e) => e.key)).toEqual(['k4', 'k3', 'k1']);
    expect(await queue.getByKey('x')).toBeUndefined();
  });
});

describe('DeferredQueue claim / release / complete', () => {
  it('lets exactly one of racing claimers win; the others learn the holder', async () => {
    const queue = newQueue();
    const { entry } = await queue.enqueue({ key: 'race', payload: job(1) });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => queue.claim(entry.id, `operator-${i}`)),
    );
    const won = outcomes.filter((o) => o.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<{ claimedBy: string | null }>).value.claimedBy;
    for (const lost of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) {
      expect(lost.reason).toBeInstanceOf(QueueEntryConflictError);
      expect(lost.reason).toMatchObject({ holder: winner, status: 'claimed', code: 'QUEUE_ENTRY_CONFLICT' });
    }
    expect((await queue.get(entry.id)).claimedBy).toBe(winner);
  });

  it('releases only by the holder (or force), completes, and audits every move', async () => {
    const queue = newQueue();
    const { entry } = await queue.enqueue({ key: 'flow', payload: job(1), actor: 'api' });
    await expect(queue.release(entry.id, 'alice')).rejects.toBeInstanceOf(QueueEntryConflictError);
    await expect(queue.complete(entry.id, 'alice')).rejects.toBeInstanceOf(QueueEntryConflictError);

    const claimed = await queue.claim(entry.id, 'alice');
    expect(claimed).toMatchObject({ status: 'claimed', claimedBy: 'alice' });
    expect(claimed.claimedAt).toBeInstanceOf(Date);
    await expect(queue.release(entry.id, 'bob')).rejects.toMatchObject({ holder: 'alice' });

    const released = await queue.release(entry.id, 'bob', { force: true });
    expect(released).toMatchObject({ status: 'pending', claimedBy: null });

    await queue.claim(entry.id, 'carol');
    await expect(queue.complete(entry.id, 'alice')).rejects.toBeInstanceOf(QueueEntryConflictError);
    const done = await queue.complete(entry.id, 'carol', { driver: 'D-7' });
    expect(done).toMatchObject({ status: 'completed', result: { driver: 'D-7' } });
    expect(done.completedAt).toBeInstanceOf(Date);
    await expect(queue.claim(entry.id, 'dave')).rejects.toMatchObject({ status: 'completed' });

    const trail = (await queue.events(entry.id)).map((e) => [e.fromStatus, e.toStatus, e.actor]);
    expect(trail).toEqual([
      [null, 'pending', 'api'],
      ['pending', 'claimed', 'alice'],
      ['claimed', 'pending', 'bob'],
      ['pending', 'claimed', 'carol'],
      ['claimed', 'completed', 'carol'],
    ]);
    const forced = (await queue.events(entry.id))[2];
    expect(forced.detail).toEqual({ forcedOver: 'alice' });
  });

  it('throws QueueEntryNotFoundError for unknown or foreign ids', async () => {
    const queue = newQueue();
    const other = newQueue();
    const { entry } = await other.enqueue({ key: 'theirs', payload: job(1) });
    await expect(queue.get(entry.id)).rejects.toBeInstanceOf(QueueEntryNotFoundError);
    await expect(queue.claim(entry.id, 'alice')).rejects.toBeInstanceOf(QueueEntryNotFoundError);
    await expect(queue.claim('not-a-number', 'alice')).rejects.toBeInstanceOf(QueueEntryNotFoundError);
    await expect(queue.get('999999999')).rejects.toMatchObject({ code: 'QUEUE_ENTRY_NOT_FOUND' });
  });

  it('cancels pending entries and requeues failed ones', async () => {
    const queue = newQueue();
    const a = (await queue.enqueue({ key: 'a', payload: job(1) })).entry;
    expect((await queue.cancel(a.id, 'alice')).status).toBe('cancelled');
    await expect(queue.requeue(a.id, 'alice')).rejects.toBeInstanceOf(QueueEntryConflictError);
    const b = (await queue.enqueue({ key: 'b', payload: job(2) })).entry;
    const [leased] = await queue.lease('replayer-1', { limit: 1, leaseMs: 60_000 });
    expect(leased.id).toBe(b.id);
    expect(await queue.markPermanentlyFailed(b.id, 'replayer-1', 'HTTP 422')).toBe(true);
    expect(await queue.get(b.id)).toMatchObject({ status: 'failed', attempts: 1, lastError: 'HTTP 422' });
    expect((await queue.requeue(b.id, 'alice')).status).toBe('pending');
  });
});

describe('DeferredQueue metrics', () => {
  it('reports depth by status and oldest pending age at scrape time, cached for a second', async () => {
    let now = 1_700_000_000_000;
    const registry = new Registry();
    const queue = newQueue({ clock: () => now, registry });
    const second = newQueue({ clock: () => now, registry });
    await queue.enqueue({ key: 'a', payload: job(1) });
    now += 10_000;
    const b = (await queue.enqueue({ key: 'b', payload: job(2) })).entry;
    await queue.enqueue({ key: 'c', payload: job(3) });
    await queue.claim(b.id, 'alice');
    await second.enqueue({ key: 'z', payload: job(9) });
    now += 5_000;

    const depth = async (q: DeferredQueue<Job>, status: string): Promise<number | undefined> => {
      const metric = await registry.getSingleMetric('deferred_queue_depth')!.get();
      return metric.values.find((v) => v.labels.queue === q.name && v.labels.status === status)?.value;
    };
    expect(await depth(queue, 'pending')).toBe(2);
    expect(await depth(queue, 'claimed')).toBe(1);
    expect(await depth(queue, 'replayed')).toBe(0);
    expect(await depth(second, 'pending')).toBe(1);
    const age = (
      await registry.getSingleMetric('deferred_queue_oldest_pending_age_seconds')!.get()
    ).values.find((v) => v.labels.queue === queue.name);
    expect(age?.value).toBe(15);

    await queue.enqueue({ key: 'd', payload: job(4) });
    expect(await depth(queue, 'pending')).toBe(2); // still the cached read
    now += 1_000;
    expect(await depth(queue, 'pending')).toBe(3);

    queue.recordReplay('success');
    queue.recordReplay('rejected');
    queue.recordReplay('rejected');
    const replays = (await registry.getSingleMetric('deferred_queue_replays_total')!.get()).values.filter(
      (v) => v.labels.queue === queue.name,
    );
    expect(Object.fromEntries(replays.map((v) => [v.labels.outcome, v.value]))).toEqual({
      success: 1,
      failure: 0,
      rejected: 2,
      deferred: 0,
    });
    expect(await registry.metrics()).toContain(
      `deferred_queue_depth{queue="${second.name}",status="pending"} 1`,
    );
  });
});

describe('DeferredQueue durability', () => {
  it('keeps every entry and event across a restart (new pool, same schema)', async () => {
    const schemaDb = await createTestDatabase<DeferredQueueTables>('dq_restart', { logger: silent });
    await schemaDb.migrate(deferredQueueMigrations());
    const before = new DeferredQueue<Job>({ name: 'manual-dispatch', db: schemaDb, logger: silent });
    const a = (await before.enqueue({ key: 'a', payload: job(1) })).entry;
    await before.enqueue({ key: 'b', payload: job(2) });
    await before.claim(a.id, 'alice');
    await schemaDb.closeKeepingSchema();

    const reopened = createDatabase<DeferredQueueTables>({
      url: testDatabaseUrl(),
      schema: schemaDb.schema,
      logger: silent,
    });
    try {
      await reopened.migrate(deferredQueueMigrations()); // already applied: a no-op
      const after = new DeferredQueue<Job>({ name: 'manual-dispatch', db: reopened, logger: silent });
      expect((await after.list()).map((e) => [e.key, e.status, e.claimedBy])).toEqual([
        ['a', 'claimed', 'alice'],
        ['b', 'pending', null],
      ]);
      expect(await after.events(a.id)).toHaveLength(2);
      expect((await after.enqueue({ key: 'b', payload: job(3) })).created).toBe(false);
    } finally {
      await reopened.pool.query(`drop schema "${schemaDb.schema}" cascade`);
      await reopened.close();
    }
  });
});
