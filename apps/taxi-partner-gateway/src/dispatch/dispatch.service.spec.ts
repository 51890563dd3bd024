import { ConflictException } from '@nestjs/common';
import { sql, type Transaction } from 'kysely';
import {
  CircuitOpenError,
  DeferredQueue,
  HttpClientError,
  QueueReplayer,
  type DeferredQueueEntry,
} from '@app/resilience';
import { ControllableBreaker } from '../../../../libs/resilience/src/queue/testing/controllable-breaker';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/postgres';
import type { BbdClient, BbdCreateOrder, BbdOrder } from '../clients/bbd.client';
import type { DispatchEvent } from '../clients/order-orchestrator.client';
import { DispatchRepository } from '../database/dispatch.repository';
import { TPG_MIGRATIONS } from '../database/tpg.migrations';
import type { TpgTables } from '../database/tpg.tables';
import { ManualDispatchService } from '../manual-dispatch/manual-dispatch.service';
import { isPermanentBbdRefusal } from './dispatch-failure';
import { DispatchService } from './dispatch.service';
import type { BbdCancelPayload, ManualDispatchPayload } from './dispatch.types';

/** A hand-written BBD: answers from a script, records what it was asked. */
class FakeBbd {
  calls: BbdCreateOrder[] = [];
  next: () => Promise<BbdOrder> = async () => this.order();

  createOrder(input: BbdCreateOrder): Promise<BbdOrder> {
    this.calls.push(input);
    return this.next();
  }

  createOrderWithin(input: BbdCreateOrder): Promise<BbdOrder> {
    return this.createOrder(input);
  }

  lookups: string[] = [];
  /** BBD's answer to the partner-id lookup; by default BBD holds nothing. */
  found: (partnerOrderId: string) => Promise<BbdOrder[]> = async () => [];

  findByPartnerOrderId(partnerOrderId: string): Promise<BbdOrder[]> {
    this.lookups.push(partnerOrderId);
    return this.found(partnerOrderId);
  }

  order(): BbdOrder {
    const last = this.calls.at(-1);
    return {
      orderId: `BBD-${last?.partnerOrderId}`,
      partnerOrderId: last?.partnerOrderId ?? '',
      status: 'searching',
      vehicle: null,
    };
  }
}

const input = (orderId: string) => ({ orderId, pickup: { lat: 1, lng: 2 }, dropoff: { lat: 3, lng: 4 } });

describe('DispatchService (unit, real Postgres)', () => {
  let database: TestDatabase<TpgTables>;
  let bbd: FakeBbd;
  let manual: DeferredQueue<ManualDispatchPayload>;
  let outbox: DeferredQueue<DispatchEvent>;
  let cancels: DeferredQueue<BbdCancelPayload>;
  let service: DispatchService;
  let now: number;

  beforeAll(async () => {
    database = await createTestDatabase<TpgTables>('tpg_unit');
    await database.migrate(TPG_MIGRATIONS);
  });

  afterAll(async () => {
    await database?.close();
  });

  beforeEach(async () => {
    await database.db.deleteFrom('deferred_queue_events').execute();
    await database.db.deleteFrom('deferred_queue_entries').execute();
    await database.db.deleteFrom('dispatches').execute();
    now = Date.parse('2025-01-01T00:00:00Z');
    const clock = () => now;
    bbd = new FakeBbd();
    manual = new DeferredQueue<ManualDispatchPayload>({ name: 'manual-dispatch', db: database, clock });
    outbox = new DeferredQueue<DispatchEvent>({ name: 'dispatch-events-outbox', db: database, clock });
    cancels = new DeferredQueue<BbdCancelPayload>({ name: 'bbd-cancel', db: database, clock });
    service = new DispatchService(
      database.db,
      new DispatchRepository(database.db),
      bbd as unknown as BbdClient,
      manual,
      outbox,
      cancels,
      clock,
      { duplicateWaitMs: 200, duplicatePollMs: 10, stalePendingMs: 10_000 },
    );
  });

  it('BBD success: dispatched with the BBD id and one outbox event, nothing queued', async () => {
    const dispatch = await service.create(input('o-1'));
    expect(dispatch).toMatchObject({ status: 'dispatched', bbdOrderId: 'BBD-o-1' });
    expect(bbd.calls).toEqual([expect.objectContaining({ partnerOrderId: 'o-1' })]);
    expect(await manual.list()).toHaveLength(0);
    expect((await outbox.list()).map((e) => e.payload)).toEqual([
      { orderId: 'o-1', dispatchId: dispatch.id, status: 'dispatched' },
    ]);
  });

  it('BBD failure: queued with the reason, entry and event written together', async () => {
    bbd.next = () => Promise.reject(new CircuitOpenError('bbd-dispatch', 1000));
    const dispatch = await service.create(input('o-2'));
    expect(dispatch).toMatchObject({ status: 'queued', reason: 'bbd-dispatch circuit open' });
    const entries = await manual.list();
    expect(entries).toEqual([
      expect.objectContaining({
        key: dispatch.id,
        payload: { dispatchId: dispatch.id, orderId: 'o-2' },
        status: 'pending',
      }),
    ]);
    expect((await outbox.list()).map((e) => e.payload.status)).toEqual(['queued']);
  });

  it('the same orderId returns the first dispatch and never calls BBD again', async () => {
    const first = await service.create(input('o-3'));
    const second = await service.create(input('o-3'));
    expect(second.id).toBe(first.id);
    expect(bbd.calls).toHaveLength(1);
  });

  it('a duplicate waits for the in-flight call, then reports its outcome', async () => {
    let release: (order: BbdOrder) => void = () => undefined;
    bbd.next = () => new Promise<BbdOrder>((resolve) => (release = resolve));
    const first = service.create(input('o-4'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = service.create(input('o-4'));
    await new Promise((resolve) => setTimeout(resolve, 30));
    release({ orderId: 'BBD-o-4', partnerOrderId: 'o-4', status: 'searching', vehicle: null });
    const [a, b] = await Promise.all([first, second]);
    expect(b).toMatchObject({ id: a.id, status: 'dispatched', bbdOrderId: 'BBD-o-4' });
    expect(bbd.calls).toHaveLength(1);
  });

  it('replay dispatches a queued entry; a second replay finds nothing to do', async () => {
    bbd.next = () => Promise.reject(new Error('down'));
    const dispatch = await service.create(input('o-5'));
    bbd.next = async () => bbd.order();
    const [entry] = (await manual.list()) as DeferredQueueEntry<ManualDispatchPayload>[];
    expect(await service.replay(entry, new AbortController().signal)).toEqual({
      bbdOrderId: 'BBD-o-5',
      status: 'dispatched',
    });
    expect(await service.replay(entry, new AbortController().signal)).toEqual({ skipped: 'dispatched' });
    expect(bbd.calls).toHaveLength(2);
    expect((await outbox.list()).map((e) => e.payload.status)).toEqual(['queued', 'dispatched']);
    expect((await service.get(dispatch.id))?.status).toBe('dispatched');
  });

  it('reconcile queues a dispatch whose request died mid-call and applies an unapplied operator completion, queueing the BBD cancel', async () => {
    const repository = new DispatchRepository(database.db);
    const { dispatch } = await repository.insertOrGet(
      {
        id: '00000000-0000-4000-8000-000000000001',
        orderId: 'o-6',
        pickup: { lat: 1, lng: 1 },
        dropoff: { lat: 2, lng: 2 },
        passenger: null,
      },
      new Date(now),
    );
    expect(await service.reconcile()).toEqual({ queued: 0, assigned: 0, failed: 0 });
    now += 11_000;
    expect(await service.reconcile()).toEqual({ queued: 1, assigned: 0, failed: 0 });
    expect((await service.get(dispatch.id))?.status).toBe('queued');

    const [entry] = await manual.list();
    await manual.claim(entry.id, 'ana');
    await manual.complete(entry.id, 'ana', { vehicle: { vehicleId: 'V-9' } });
    expect(await service.reconcile()).toEqual({ queued: 0, assigned: 1, failed: 0 });
    expect(await service.get(dispatch.id)).toMatchObject({
      status: 'driver_assigned',
      vehicle: { vehicleId: 'V-9' },
    });
    expect((await outbox.list()).map((e) => e.payload.status)).toEqual(['queued', 'driver_assigned']);
    // A BBD order whose answer was lost must be cancelled here too, as after a normal completion.
    expect(await cancels.getByKey(dispatch.id)).toMatchObject({
      status: 'pending',
      payload: { dispatchId: dispatch.id, partnerOrderId: 'o-6' },
    });
  });

  it('reconcile repairs each row on its own: a failing row is counted and the others still repaired', async () => {
    const repository = new DispatchRepository(database.db);
    const ids = ['00000000-0000-4000-8000-000000000011', '00000000-0000-4000-8000-000000000012'];
    for (const [i, id] of ids.entries())
      await repository.insertOrGet(
        { id, orderId: `o-r${i}`, pickup: { lat: 1, lng: 1 }, dropoff: { lat: 2, lng: 2 }, passenger: null },
        new Date(now),
      );
    now += 11_000;
    const enqueue = jest.spyOn(manual, 'enqueue').mockRejectedValueOnce(new Error('connection reset'));
    expect(await service.reconcile()).toEqual({ queued: 1, assigned: 0, failed: 1 });
    enqueue.mockRestore();
    expect((await service.get(ids[0]))?.status).toBe('pending'); // rolled back, retried next pass
    expect((await service.get(ids[1]))?.status).toBe('queued');

    // The same for operator completions whose dispatch update was lost.
    expect(await service.reconcile()).toEqual({ queued: 1, assigned: 0, failed: 0 });
    for (const entry of await manual.list()) {
      await manual.claim(entry.id, 'ana');
      await manual.complete(entry.id, 'ana', { vehicle: { vehicleId: `V-${entry.payload.orderId}` } });
    }
    const assign = jest.spyOn(service, 'assignDriver').mockRejectedValueOnce(new Error('deadlock detected'));
    expect(await service.reconcile()).toEqual({ queued: 0, assigned: 1, failed: 1 });
    assign.mockRestore();
    expect(await service.reconcile()).toEqual({ queued: 0, assigned: 1, failed: 0 });
    for (const id of ids) expect((await service.get(id))?.status).toBe('driver_assigned');
  });

  it('the replayer closes an entry whose dispatch is already on BBD without calling BBD again', async () => {
    bbd.next = () => Promise.reject(new Error('down'));
    const dispatch = await service.create(input('o-7'));
    bbd.next = async () => bbd.order();
    const [entry] = await manual.list();
    // A process killed between markDispatched and the queue's markReplayed leaves this behind.
    await service.replay(entry, new AbortController().signal);
    expect((await manual.get(entry.id)).status).toBe('pending');
    const calls = bbd.calls.length;
    const replayer = new QueueReplayer<ManualDispatchPayload>({
      queue: manual,
      breaker: new ControllableBreaker('bbd-dispatch'),
      handler: (e, signal) => service.replay(e, signal),
      logger: { log: () => undefined, warn: () => undefined, error: () => undefined },
    });
    await replayer.drainOnce();
    expect(await manual.get(entry.id)).toMatchObject({
      status: 'replayed',
      result: { skipped: 'dispatched' },
    });
    expect(bbd.calls).toHaveLength(calls);
    expect((await service.get(dispatch.id))?.status).toBe('dispatched');
  });

  it('only a refusal of this one order is permanent: 422 or a 400 VALIDATION_ERROR; a systemic 4xx stays retryable', () => {
    const refusal = (status: number, body: unknown = null) => new HttpClientError('bbd', status, body);
    const validation = { error: { code: 'VALIDATION_ERROR', message: 'pickup.lat', field: 'pickup' } };
    expect(isPermanentBbdRefusal(refusal(422))).toBe(true);
    expect(isPermanentBbdRefusal(refusal(400, validation))).toBe(true);
    // A wrong base URL, API version or proxy answers every order alike: parking would empty the queue.
    for (const status of [400, 401, 403, 404, 408, 409, 413, 429])
      expect(isPermanentBbdRefusal(refusal(status))).toBe(false);
    expect(isPermanentBbdRefusal(refusal(400, '<html>Bad Request</html>'))).toBe(false);
    expect(isPermanentBbdRefusal(refusal(400, { error: { code: 'BAD_API_VERSION' } }))).toBe(false);
    expect(isPermanentBbdRefusal(refusal(404, { error: { code: 'NOT_FOUND' } }))).toBe(false);
    expect(isPermanentBbdRefusal(new Error('HTTP 422'))).toBe(false);
    expect(isPermanentBbdRefusal(new CircuitOpenError('bbd-dispatch', 1000))).toBe(false);
  });

  describe('operators (ManualDispatchService) never add a taxi to a dispatch already on BBD', () => {
    let operators: ManualDispatchService;

    beforeEach(() => {
      operators = new ManualDispatchService(manual, service, bbd as unknown as BbdClient);
    });

    /** A queued dispatch and its pending entry. */
    async function queued(orderId: string) {
      bbd.next = () => Promise.reject(new Error('down'));
      const dispatch = await service.create(input(orderId));
      bbd.next = async () => bbd.order();
      const entry = await manual.getByKey(dispatch.id);
      if (!entry) throw new Error('no entry');
      return { dispatch, entry };
    }

    async function conflict(promise: Promise<unknown>): Promise<Record<string, unknown>> {
      const err: unknown = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConflictException);
      return (err as ConflictException).getResponse() as Record<string, unknown>;
    }

    it('claim: 409 naming the BBD order once the dispatch is dispatched; the entry stays pending', async () => {
      const { dispatch, entry } = await queued('o-c1');
      await service.replay(entry, new AbortController().signal); // on BBD, entry not closed yet
      expect(await conflict(operators.claim(entry.id, 'ana'))).toMatchObject({
        statusCode: 409,
        dispatchId: dispatch.id,
        dispatchStatus: 'dispatched',
        bbdOrderId: 'BBD-o-c1',
      });
      expect((await manual.get(entry.id)).status).toBe('pending');
    });

    it('claim: BBD already holds the order (lost create answer) → recorded as dispatched, 409 naming it', async () => {
      const { dispatch, entry } = await queued('o-lost');
      const held: BbdOrder = {
        orderId: 'BBD-lost',
        partnerOrderId: 'o-lost',
        status: 'searching',
        vehicle: null,
      };
      bbd.found = async (partnerOrderId) => (partnerOrderId === 'o-lost' ? [held] : []);
      expect(await conflict(operators.claim(entry.id, 'ana'))).toMatchObject({
        statusCode: 409,
        dispatchStatus: 'dispatched',
        bbdOrderId: 'BBD-lost',
      });
      expect(bbd.lookups).toEqual(['o-lost']);
      expect(await service.get(dispatch.id)).toMatchObject({ status: 'dispatched', bbdOrderId: 'BBD-lost' });
      expect((await outbox.list()).map((e) => e.payload.status)).toEqual(['queued', 'dispatched']);
      expect((await manual.get(entry.id)).status).toBe('pending');
    });

    it('claim: a cancelled BBD order does not block; BBD unreachable → claimed with bbdChecked false', async () => {
      const first = await queued('o-cancelled');
      bbd.found = async () => [
        { orderId: 'BBD-x', partnerOrderId: 'o-cancelled', status: 'cancelled', vehicle: null },
      ];
      expect(await operators.claim(first.entry.id, 'ana')).toMatchObject({
        status: 'claimed',
        bbdChecked: true,
      });
      const second = await queued('o-unasked');
      bbd.found = () => Promise.reject(new CircuitOpenError('bbd-dispatch', 1000));
      expect(await operators.claim(second.entry.id, 'ana')).toMatchObject({
        status: 'claimed',
        bbdChecked: false,
        bbdCheckFailure: 'bbd-dispatch circuit open',
      });
      expect(await service.get(second.dispatch.id)).toMatchObject({ status: 'queued' });
    });

    it('complete queues the BBD cancel with the completion, and not when the completion is refused', async () => {
      const { dispatch, entry } = await queued('o-cancel');
      await operators.claim(entry.id, 'ana');
      await operators.complete(entry.id, { vehicleId: 'V-9' }, 'ana');
      expect(await cancels.getByKey(dispatch.id)).toMatchObject({
        status: 'pending',
        payload: { dispatchId: dispatch.id, partnerOrderId: 'o-cancel' },
      });

      const other = await queued('o-nocancel');
      await operators.claim(other.entry.id, 'ana');
      jest.spyOn(cancels, 'enqueue').mockRejectedValueOnce(new Error('database gone'));
      await expect(operators.complete(other.entry.id, { vehicleId: 'V-10' }, 'ana')).rejects.toThrow(
        'database gone',
      );
      // One transaction: the completion rolled back with the failed enqueue.
      expect((await manual.get(other.entry.id)).status).toBe('claimed');
      expect(await service.get(other.dispatch.id)).toMatchObject({ status: 'queued' });
    });

    it('complete: 409 when a stale replay put the claimed dispatch on BBD; nothing is assigned', async () => {
      const { dispatch, entry } = await queued('o-c2');
      await operators.claim(entry.id, 'ana');
      await service.replay(await manual.get(entry.id), new AbortController().signal);
      expect(await conflict(operators.complete(entry.id, { vehicleId: 'RADIO-1' }, 'ana'))).toMatchObject({
        statusCode: 409,
        dispatchStatus: 'dispatched',
        bbdOrderId: 'BBD-o-c2',
      });
      expect((await manual.get(entry.id)).status).toBe('claimed');
      expect(await service.get(dispatch.id)).toMatchObject({ status: 'dispatched', vehicle: null });
      expect(await service.reconcile()).toEqual({ queued: 0, assigned: 0, failed: 0 });
      expect((await outbox.list()).map((e) => e.payload.status)).toEqual(['queued', 'dispatched']);
    });

    it('complete holds the dispatch: a replay whose BBD order lands meanwhile finds it assigned', async () => {
      const { dispatch, entry } = await queued('o-c3');
      await operators.claim(entry.id, 'ana');
      let reached: () => void = () => undefined;
      const atComplete = new Promise<void>((resolve) => (reached = resolve));
      let proceed: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (proceed = resolve));
      let completer = 0;
      const original = manual.complete.bind(manual);
      jest.spyOn(manual, 'complete').mockImplementationOnce(async (...args) => {
        const trx = args[3]?.trx as Transaction<TpgTables>;
        completer = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0].pid;
        reached();
        await gate;
        return original(...args);
      });
      const completing = operators.complete(entry.id, { vehicleId: 'RADIO-2' }, 'ana');
      await atComplete;
      const replaying = service.replay(entry, new AbortController().signal);
      try {
        await blockedBy(completer); // the replay waits for the row lock the completion holds
      } finally {
        proceed(); // never leave the completion's transaction open, even when the wait fails
      }
      expect(await completing).toMatchObject({ status: 'completed', vehicle: { vehicleId: 'RADIO-2' } });
      expect(await replaying).toMatchObject({ status: 'driver_assigned' });
      expect(await service.get(dispatch.id)).toMatchObject({
        status: 'driver_assigned',
        bbdOrderId: null,
        vehicle: { vehicleId: 'RADIO-2' },
      });
      expect((await outbox.list()).map((e) => e.payload.status)).toEqual(['queued', 'driver_assigned']);
      // The late BBD order is a second taxi: its own cancel entry, beside the completion's.
      expect((await cancels.list()).map((e) => e.key).sort()).toEqual(
        [dispatch.id, `${dispatch.id}:BBD-o-c3`].sort(),
      );
      expect(await cancels.getByKey(`${dispatch.id}:BBD-o-c3`)).toMatchObject({
        status: 'pending',
        payload: { dispatchId: dispatch.id, partnerOrderId: 'o-c3' },
      });
    });

    /** Resolves once some backend waits for a lock held by backend `pid` (bounded: about 3 s). */
    async function blockedBy(pid: number): Promise<void> {
      for (let i = 0; i < 300; i++) {
        const { rows } = await sql<{ waiting: number }>`
          select count(*)::int as waiting from pg_stat_activity
          where wait_event_type = 'Lock' and ${pid}::int = any(pg_blocking_pids(pid))`.execute(database.db);
        if (rows[0].waiting > 0) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`no backend waited for a lock of ${pid}`);
    }

    it('complete without operator is a supervisor move, audited as operator-api over the holder', async () => {
      const { dispatch, entry } = await queued('o-c4');
      await operators.claim(entry.id, 'ana');
      expect(await operators.complete(entry.id, { vehicleId: 'V-4' }, undefined)).toMatchObject({
        status: 'completed',
      });
      expect((await operators.events(entry.id)).at(-1)).toMatchObject({
        from: 'claimed',
        to: 'completed',
        actor: 'operator-api',
      });
      expect((await manual.events(entry.id)).at(-1)?.detail).toEqual({ forcedOver: 'ana' });
      expect((await service.get(dispatch.id))?.status).toBe('driver_assigned');
    });

    it('an entry BBD refused for good (failed) can still be claimed and completed by an operator', async () => {
      const { dispatch, entry } = await queued('o-c5');
      await manual.lease('replayer-1', { limit: 1, leaseMs: 10_000 });
      await manual.markPermanentlyFailed(entry.id, 'replayer-1', 'HttpClientError: bbd answered 422');
      expect((await manual.get(entry.id)).status).toBe('failed');
      expect(await operators.claim(entry.id, 'ana')).toMatchObject({ status: 'claimed', claimedBy: 'ana' });
      await operators.complete(entry.id, { vehicleId: 'V-5' }, 'ana');
      expect((await service.get(dispatch.id))?.status).toBe('driver_assigned');
    });

    it('claim of a failed entry whose order BBD holds: adopted, and the entry cancelled with it (the replayer never leases failed)', async () => {
      const { dispatch, entry } = await queued('o-c6');
      await manual.lease('replayer-1', { limit: 1, leaseMs: 10_000 });
      await manual.markPermanentlyFailed(entry.id, 'replayer-1', 'HttpClientError: bbd answered 422');
      bbd.found = async () => [
        { orderId: 'BBD-c6', partnerOrderId: 'o-c6', status: 'driver_assigned', vehicle: null },
      ];
      expect(await conflict(operators.claim(entry.id, 'ana'))).toMatchObject({
        dispatchStatus: 'dispatched',
        bbdOrderId: 'BBD-c6',
      });
      expect(await service.get(dispatch.id)).toMatchObject({ status: 'dispatched', bbdOrderId: 'BBD-c6' });
      expect((await manual.get(entry.id)).status).toBe('cancelled');
      expect((await manual.events(entry.id)).at(-1)).toMatchObject({
        fromStatus: 'failed',
        toStatus: 'cancelled',
        actor: 'ana',
        detail: { reason: 'BBD holds order BBD-c6' },
      });

      // One transaction: a cancel that fails rolls the adopt back too (retried on the next claim).
      const other = await queued('o-c7');
      await manual.lease('replayer-1', { limit: 1, leaseMs: 10_000 });
      await manual.markPermanentlyFailed(other.entry.id, 'replayer-1', 'HttpClientError: bbd answered 422');
      bbd.found = async () => [
        { orderId: 'BBD-c7', partnerOrderId: 'o-c7', status: 'searching', vehicle: null },
      ];
      jest.spyOn(manual, 'cancel').mockRejectedValueOnce(new Error('database gone'));
      await expect(operators.claim(other.entry.id, 'ana')).rejects.toThrow('database gone');
      expect(await service.get(other.dispatch.id)).toMatchObject({ status: 'queued', bbdOrderId: null });
      expect((await manual.get(other.entry.id)).status).toBe('failed');
    });
  });
});
