import { Registry } from 'prom-client';
import { CircuitBreakerManager } from '../breaker/circuit-breaker-manager';
import { createTestDatabase, TestDatabase } from '../../../../test/support/postgres';
import { DeferredQueue } from './deferred-queue';
import { deferredQueueMigrations } from './deferred-queue.migrations';
import type { DeferredQueueEntry, DeferredQueueTables } from './deferred-queue.types';
import { QueueReplayer, QueueReplayerOptions, ReplayDeferred } from './queue-replayer';
import { ControllableBreaker } from './testing/controllable-breaker';

interface Job {
  n: number;
}

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };
let database: TestDatabase<DeferredQueueTables>;
let other: TestDatabase<DeferredQueueTables>;
let seq = 0;

beforeAll(async () => {
  database = await createTestDatabase<DeferredQueueTables>('replayer', { logger: silent });
  await database.migrate(deferredQueueMigrations());
  // A second pool on the same schema plays the second replica.
  other = await createTestDatabase<DeferredQueueTables>('unused', {
    schema: database.schema,
    logger: silent,
  });
});

afterAll(async () => {
  await other.closeKeepingSchema();
  await database.close();
});

function newQueue(clock?: () => number, registry?: Registry): DeferredQueue<Job> {
  seq += 1;
  return new DeferredQueue<Job>({ name: `rq${seq}`, db: database, logger: silent, clock, registry });
}

async function fill(queue: DeferredQueue<Job>, count: number): Promise<DeferredQueueEntry<Job>[]> {
  const entries: DeferredQueueEntry<Job>[] = [];
  for (let n = 1; n <= count; n++)
    entries.push((await queue.enqueue({ key: `k${n}`, payload: { n } })).entry);
  return entries;
}

function replayer(
  queue: DeferredQueue<Job>,
  breaker: ControllableBreaker,
  handler: QueueReplayerOptions<Job>['handler'],
  extra: Partial<QueueReplayerOptions<Job>> = {},
): QueueReplayer<Job> {
  return new QueueReplayer<Job>({ queue, breaker, handler, logger: silent, pollIntervalMs: 20, ...extra });
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('QueueReplayer', () => {
  it('hands pending entries oldest first, once each, and marks them replayed', async () => {
    const registry = new Registry();
    const queue = newQueue(undefined, registry);
    const entries = await fill(queue, 5);
    const seen: number[] = [];
    const r = replayer(
      queue,
      new ControllableBreaker(),
      async (entry) => {
        seen.push(entry.payload.n);
        return { ok: entry.payload.n };
      },
      { concurrency: 1, batchSize: 2 },
    );

    const result = await r.drainOnce();
    expect(result).toMatchObject({ handed: 5, succeeded: 5, failed: 0, rejected: 0 });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect((await queue.list()).every((e) => e.status === 'replayed')).toBe(true);
    expect((await queue.get(entries[0].id)).result).toEqual({ ok: 1 });
    expect((await queue.events(entries[0].id)).map((e) => [e.fromStatus, e.toStatus, e.actor])).toEqual([
      [null, 'pending', 'system'],
      ['pending', 'replaying', r.id],
      ['replaying', 'replayed', r.id],
    ]);
    expect((await r.drainOnce()).handed).toBe(0);
    const success = (await registry.getSingleMetric('deferred_queue_replays_total')!.get()).values.find(
      (v) => v.labels.outcome === 'success',
    );
    expect(success?.value).toBe(5);
  });

  it('never hands an entry twice when two replicas drain the same queue at once', async () => {
    const queue = newQueue();
    const replica = new DeferredQueue<Job>({ name: queue.name, db: other, logger: silent });
    await fill(queue, 40);
    const handed: number[] = [];
    const handler = async (entry: DeferredQueueEntry<Job>): Promise<void> => {
      handed.push(entry.payload.n);
      await new Promise((resolve) => setImmediate(resolve));
    };
    const a = replayer(queue, new ControllableBreaker(), handler, { batchSize: 5, concurrency: 3 });
    const b = replayer(replica, new ControllableBreaker(), handler, { batchSize: 5, concurrency: 3 });
    const [ra, rb] = await Promise.all([a.drainOnce(), b.drainOnce()]);
    expect(ra.handed + rb.handed).toBe(40);
    expect(handed.sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(await queue.list({ status: 'replayed', limit: 100 })).toHaveLength(40);
  });

  it('hands nothing while the breaker is open', async () => {
    const queue = newQueue();
    await fill(queue, 3);
    const breaker = new ControllableBreaker();
    breaker.setState('open');
    const handler = jest.fn(async () => undefined);
    const result = await replayer(queue, breaker, handler).drainOnce();
    expect(result.handed).toBe(0);
    expect(handler).not.toHaveBeenCalled();
    expect((await queue.list()).map((e) => [e.status, e.attempts])).toEqual([
      ['pending', 0],
      ['pending', 0],
      ['pending', 0],
    ]);
  });

  it('sends only what a half-open breaker admits, oldest first, and puts rejected entries back untouched', async () => {
    const queue = newQueue();
    const entries = await fill(queue, 4);
    const breaker = new ControllableBreaker();
    breaker.setState('half-open', 2);
    const seen: number[] = [];
    const r = replayer(
      queue,
      breaker,
      async (entry) => {
        seen.push(entry.payload.n);
      },
      { concurrency: 4, batchSize: 4 },
    );

    const result = await r.drainOnce();
    expect(seen).toEqual([1, 2]);
    expect(result).toMatchObject({ handed: 2, succeeded: 2, rejected: 1 });
    const third = await queue.get(entries[2].id);
    expect(third).toMatchObject({ status: 'pending', attempts: 0, leaseOwner: null, lastError: null });
    expect((await queue.events(entries[2].id)).map((e) => e.toStatus)).toEqual([
      'pending',
      'replaying',
      'pending',
    ]);

    breaker.setState('closed');
    await r.drainOnce();
    expect(seen).toEqual([1, 2, 3, 4]);
  });

  it('in ordered mode replays one at a time in enqueue order and stops at the first failure', async () => {
    const queue = newQueue();
    const entries = await fill(queue, 4);
    const seen: number[] = [];
    let failOn: number | undefined = 2;
    const r = replayer(
      queue,
      new ControllableBreaker(),
      async (entry) => {
        seen.push(entry.payload.n);
        if (entry.payload.n === failOn) throw new Error('downstream 503');
      },
      { ordered: true, concurrency: 4, batchSize: 10 },
    );

    const result = await r.drainOnce();
    expect(seen).toEqual([1, 2]);
    expect(result).toMatchObject({ handed: 2, succeeded: 1, failed: 1 });
    expect(await queue.get(entries[1].id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'Error: downstream 503',
    });
    expect((await queue.get(entries[2].id)).status).toBe('pending');

    failOn = undefined;
    await r.drainOnce();
    expect(seen).toEqual([1, 2, 2, 3, 4]);
  });

  it('keeps order across two ordered replicas racing on one outbox', async () => {
    const queue = newQueue();
    const replica = new DeferredQueue<Job>({ name: queue.name, db: other, logger: silent });
    await fill(queue, 12);
    const seen: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const handler = async (entry: DeferredQueueEntry<Job>): Promise<void> => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      seen.push(entry.payload.n);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight--;
    };
    const a = replayer(queue, new ControllableBreaker(), handler, { ordered: true });
    const b = replayer(replica, new ControllableBreaker(), handler, { ordered: true });
    await Promise.all([a.drainOnce(), b.drainOnce(), a.drainOnce(), b.drainOnce()]);
    await a.drainOnce();
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(maxInFlight).toBe(1);
  });

  it('never replays an entry an operator has claimed', async () => {
    const queue = newQueue();
    const entries = await fill(queue, 3);
    await queue.claim(entries[0].id, 'alice');
    const seen: number[] = [];
    await replayer(queue, new ControllableBreaker(), async (entry) => {
      seen.push(entry.payload.n);
    }).drainOnce();
    expect(seen).toEqual([2, 3]);
    expect(await queue.get(entries[0].id)).toMatchObject({ status: 'claimed', claimedBy: 'alice' });
  });

  it('returns a crashed replayer entry to pending once its lease expires', async () => {
    let now = 1_700_000_000_000;
    const queue = newQueue(() => now);
    const [entry] = await fill(queue, 1);
    const [leased] = await queue.lease('crashed-replayer', { limit: 1, leaseMs: 30_000 });
    expect(leased.id).toBe(entry.id);

    const seen: string[] = [];
    const r = replayer(queue, new ControllableBreaker(), async (e) => {
      seen.push(e.id);
    });
    expect((await r.drainOnce()).handed).toBe(0);
    now += 30_001;
    const result = await r.drainOnce();
    expect(result).toMatchObject({ expired: 1, handed: 1, succeeded: 1 });
    expect(seen).toEqual([entry.id]);
    expect(await queue.get(entry.id)).toMatchObject({ status: 'replayed', attempts: 1 });
    // The crashed holder coming back late cannot overwrite the outcome.
    expect(await queue.markFailedAttempt(entry.id, 'crashed-replayer', 'late')).toBe(false);
    const expiry = (await queue.events(entry.id)).find(
      (e) => e.fromStatus === 'replaying' && e.toStatus === 'pending',
    );
    expect(expiry?.detail).toEqual({ previousOwner: 'crashed-replayer', error: 'lease expired' });
  });

  it('aborts a hanging handler through the breaker call signal and returns the entry to pending', async () => {
    const queue = newQueue();
    const [entry] = await fill(queue, 1);
    let abortedWith: unknown;
    const hang = (_e: DeferredQueueEntry<Job>, signal: AbortSignal): Promise<never> =>
      new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          abortedWith = signal.reason;
          reject(signal.reason);
        });
      });
    const result = await replayer(queue, new ControllableBreaker('hangs', 50), hang).drainOnce();
    expect(result).toMatchObject({ handed: 1, failed: 1 });
    expect(abortedWith).toMatchObject({ code: 'CALL_TIMEOUT' });
    expect(await queue.get(entry.id)).toMatchObject({ status: 'pending', attempts: 1, leaseOwner: null });
    expect((await queue.get(entry.id)).lastError).toContain('CallTimeoutError');
  });

  it('never hands an entry whose lease was lost before its turn in the batch (expired, then claimed)', async () => {
    const queue = newQueue();
    const entries = await fill(queue, 3);
    const seen: number[] = [];
    const r = replayer(
      queue,
      new ControllableBreaker(),
      async (entry) => {
        seen.push(entry.payload.n);
        if (entry.payload.n === 1 && seen.length === 1) {
          // While the first replay is slow, the rest of the batch's leases run out: another
          // replica returns them to pending, and an operator claims the third entry.
          await other.db
            .updateTable('deferred_queue_entries')
            .set({ lease_expires_at: new Date(0) })
            .where('id', 'in', [entries[1].id, entries[2].id])
            .execute();
          await queue.expireLeases('other-replica');
          await queue.claim(entries[2].id, 'alice');
        }
      },
      { concurrency: 1, batchSize: 3 },
    );
    await r.drainOnce();
    // The second entry is handed once, from a fresh lease of a later round; the third never.
    expect(seen).toEqual([1, 2]);
    expect(await queue.get(entries[2].id)).toMatchObject({ status: 'claimed', claimedBy: 'alice' });
    const secondEvents = (await queue.events(entries[1].id)).map((e) => `${e.fromStatus}->${e.toStatus}`);
    expect(secondEvents).toEqual([
      'null->pending',
      'pending->replaying',
      'replaying->pending',
      'pending->replaying',
      'replaying->replayed',
    ]);
  });

  it('renews the lease of each entry right before its replay', async () => {
    let now = 1_700_000_000_000;
    const queue = newQueue(() => now);
    const entries = await fill(queue, 2);
    let secondLeaseEnds: number | undefined;
    let secondTurnAt = 0;
    const r = replayer(
      queue,
      new ControllableBreaker(),
      async (entry) => {
        if (entry.payload.n === 1) now += 50_000;
        if (entry.payload.n === 2) {
          secondTurnAt = now;
          secondLeaseEnds = (await queue.get(entry.id)).leaseExpiresAt?.getTime();
        }
      },
      { concurrency: 1, batchSize: 2, leaseMs: 60_000 },
    );
    expect(await r.drainOnce()).toMatchObject({ handed: 2, succeeded: 2 });
    // Leased at the start of the batch, renewed at its turn: a whole lease from then.
    expect(secondLeaseEnds).toBe(secondTurnAt + 60_000);
    expect((await queue.get(entries[1].id)).status).toBe('replayed');
  });

  it('a handler still running when the call deadline fires keeps its entry until it settles, and its outcome counts', async () => {
    const registry = new Registry();
    const queue = newQueue(undefined, registry);
    const [entry] = await fill(queue, 1);
    let statusWhileLate: string | undefined;
    const late = async (e: DeferredQueueEntry<Job>): Promise<string> => {
      // Ignores the signal, as a database write after the downstream answered does.
      await new Promise((resolve) => setTimeout(resolve, 60));
      statusWhileLate = (await queue.get(e.id)).status;
      return 'done late';
    };
    const result = await replayer(queue, new ControllableBreaker('slow', 20), late).drainOnce();
    expect(statusWhileLate).toBe('replaying');
    expect(result).toMatchObject({ handed: 1, succeeded: 1, failed: 0 });
    expect(await queue.get(entry.id)).toMatchObject({ status: 'replayed', result: 'done late' });
    const replays = (await registry.getSingleMetric('deferred_queue_replays_total')?.get())?.values ?? [];
    expect(
      replays
        .filter((v) => v.labels.queue === queue.name && v.value > 0)
        .map((v) => [v.labels.outcome, v.value]),
    ).toEqual([['success', 1]]);
  });

  it('a handler failing after the call deadline decides with its own error (here a permanent one)', async () => {
    const queue = newQueue();
    const [entry] = await fill(queue, 1);
    class Refused extends Error {}
    const late = async (): Promise<never> => {
      await new Promise((resolve) => setTimeout(resolve, 60));
      throw new Refused('downstream refused this entry for good');
    };
    const result = await replayer(queue, new ControllableBreaker('slow', 20), late, {
      isPermanentFailure: (err) => err instanceof Refused,
    }).drainOnce();
    expect(result).toMatchObject({ handed: 1, failed: 1 });
    expect(await queue.get(entry.id)).toMatchObject({ status: 'failed' });
    expect((await queue.get(entry.id)).lastError).toContain('refused this entry for good');
  });

  it('moves permanent failures to failed instead of retrying them', async () => {
    const queue = newQueue();
    const [entry] = await fill(queue, 1);
    const r = replayer(
      queue,
      new ControllableBreaker(),
      async () => {
        throw Object.assign(new Error('unprocessable'), { status: 422 });
      },
      { isPermanentFailure: (err) => (err as { status?: number }).status === 422 },
    );
    await r.drainOnce();
    expect(await queue.get(entry.id)).toMatchObject({ status: 'failed', attempts: 1 });
    expect((await r.drainOnce()).handed).toBe(0);
  });

  it('a deferred replay is a healthy call for the breaker and puts its entry back for a later pass', async () => {
    const manager = new CircuitBreakerManager({ logger: silent });
    const breaker = manager.getOrCreate({ name: `deferring-${seq}`, failureThreshold: 1, timeoutMs: 60_000 });
    const queue = newQueue();
    const [first, second] = await fill(queue, 2);
    const seen: number[] = [];
    const r = new QueueReplayer<Job>({
      queue,
      breaker,
      logger: silent,
      concurrency: 1,
      batchSize: 1,
      handler: async (entry) => {
        seen.push(entry.payload.n);
        return entry.payload.n === 1 ? new ReplayDeferred('not visible at the gateway yet') : 'done';
      },
    });
    expect(await r.drainOnce()).toMatchObject({ handed: 1, deferred: 1, failed: 0 });
    // The pass ended at the deferral: no hot loop on an entry that came straight back.
    expect(seen).toEqual([1]);
    expect(breaker.state).toBe('closed');
    expect(await queue.get(first.id)).toMatchObject({
      status: 'pending',
      attempts: 1,
      lastError: 'not visible at the gateway yet',
    });
    expect((await queue.get(second.id)).status).toBe('pending');
  });

  it('runs on its own after start(), picks up kicked entries and stops after in-flight calls finish', async () => {
    const queue = newQueue();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = 0;
    const r = replayer(
      queue,
      new ControllableBreaker(),
      async () => {
        started++;
        await gate;
      },
      { pollIntervalMs: 60_000 },
    );
    r.start();
    const { entry } = await queue.enqueue({ key: 'live', payload: { n: 1 } });
    r.kick();
    await waitFor(() => started === 1);

    let stopped = false;
    const stopping = r.stop().then(() => {
      stopped = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect((await queue.get(entry.id)).status).toBe('replayed');
  });

  it('stop() is bounded: past stopTimeoutMs it aborts a handler that only stops when aborted', async () => {
    const queue = newQueue();
    const [entry] = await fill(queue, 1);
    let started = false;
    const r = replayer(
      queue,
      new ControllableBreaker(),
      (_e, signal) => {
        started = true;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      { stopTimeoutMs: 50 },
    );
    r.start();
    await waitFor(() => started);
    await r.stop();
    expect(await queue.get(entry.id)).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('survives a restart: entries enqueued before are replayed by a replayer on a new pool', async () => {
    const first = await createTestDatabase<DeferredQueueTables>('replayer_restart', { logger: silent });
    await first.migrate(deferredQueueMigrations());
    await fill(new DeferredQueue<Job>({ name: 'outbox', db: first, logger: silent }), 3);
    await first.closeKeepingSchema();

    const second = await createTestDatabase<DeferredQueueTables>('x', {
      schema: first.schema,
      logger: silent,
    });
    try {
      const queue = new DeferredQueue<Job>({ name: 'outbox', db: second, logger: silent });
      const seen: number[] = [];
      await replayer(queue, new ControllableBreaker(), async (e) => {
        seen.push(e.payload.n);
      }).drainOnce();
      expect(seen).toEqual([1, 2, 3]);
    } finally {
      await second.close();
    }
  });

  it('paces replays with the real CircuitBreaker: trips, waits while open, probes half-open, then drains', async () => {
    let now = 1_700_000_000_000;
    const manager = new CircuitBreakerManager({ clock: () => now, logger: silent });
    const breaker = manager.getOrCreate({
      name: 'queue-it',
      failureThreshold: 2,
      timeoutMs: 1000,
      maxRequests: 1,
    });
    const queue = newQueue();
    await fill(queue, 4);
    let down = true;
    const calls: number[] = [];
    const r = new QueueReplayer<Job>({
      queue,
      breaker,
      logger: silent,
      handler: async (entry) => {
        calls.push(entry.payload.n);
        if (down) throw new Error('503');
      },
      concurrency: 1,
    });
    // Two failures trip it; the third entry is refused and goes back untouched.
    expect(await r.drainOnce()).toMatchObject({ handed: 2, failed: 2, rejected: 1 });
    expect(breaker.state).toBe('open');
    expect((await r.drainOnce()).handed).toBe(0);
    expect(calls).toEqual([1, 2]);

    down = false;
    now += 1001;
    expect(breaker.state).toBe('half-open');
    const result = await r.drainOnce();
    expect(calls).toEqual([1, 2, 1, 2, 3, 4]);
    expect(result).toMatchObject({ handed: 4, succeeded: 4, rejected: 0 });
    expect(breaker.state).toBe('closed');
    expect((await queue.list()).map((e) => [e.status, e.attempts])).toEqual([
      ['replayed', 1],
      ['replayed', 1],
      ['replayed', 0],
      ['replayed', 0],
    ]);
  });
});
