import { CircuitOpenError, DeferredQueue, type DeferredQueueEntry } from '@app/resilience';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/postgres';
import type { BbdClient, BbdCreateOrder, BbdOrder } from '../clients/bbd.client';
import type { DispatchEvent } from '../clients/order-orchestrator.client';
import { DispatchRepository } from '../database/dispatch.repository';
import { TPG_MIGRATIONS } from '../database/tpg.migrations';
import type { TpgTables } from '../database/tpg.tables';
import { DispatchService } from './dispatch.service';
import type { ManualDispatchPayload } from './dispatch.types';

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
    service = new DispatchService(
      database.db,
      new DispatchRepository(database.db),
      bbd as unknown as BbdClient,
      manual,
      outbox,
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

  it('reconcile queues a dispatch whose request died mid-call and applies an unapplied operator completion', async () => {
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
    expect(await service.reconcile()).toEqual({ queued: 0, assigned: 0 });
    now += 11_000;
    expect(await service.reconcile()).toEqual({ queued: 1, assigned: 0 });
    expect((await service.get(dispatch.id))?.status).toBe('queued');

    const [entry] = await manual.list();
    await manual.claim(entry.id, 'ana');
    await manual.complete(entry.id, 'ana', { vehicle: { vehicleId: 'V-9' } });
    expect(await service.reconcile()).toEqual({ queued: 0, assigned: 1 });
    expect(await service.get(dispatch.id)).toMatchObject({
      status: 'driver_assigned',
      vehicle: { vehicleId: 'V-9' },
    });
    expect((await outbox.list()).map((e) => e.payload.status)).toEqual(['queued', 'driver_assigned']);
  });
});
