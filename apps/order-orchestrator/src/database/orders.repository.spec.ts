import { createDatabase, type Database } from '@app/resilience';
import { randomBytes, randomUUID } from 'node:crypto';
import { ORCHESTRATOR_MIGRATIONS } from './orders.migrations';
import { OrdersRepository } from './orders.repository';
import type { OrchestratorTables, OrderDispatch, OrderStatus } from './orders.tables';
import { STATUS_RANK } from '../orders/order-status';

const URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

let database: Database<OrchestratorTables>;
let orders: OrdersRepository;

beforeAll(async () => {
  database = createDatabase<OrchestratorTables>({
    url: URL,
    schema: `orders_repo_${randomBytes(4).toString('hex')}`,
    logger: silent,
  });
  await database.migrate(ORCHESTRATOR_MIGRATIONS);
  orders = new OrdersRepository(database);
});

afterAll(async () => {
  await database.pool.query(`drop schema if exists "${database.schema}" cascade`);
  await database.close();
});

async function order(status: OrderStatus, dispatch: OrderDispatch): Promise<string> {
  const id = randomUUID();
  const at = new Date('2026-01-01T00:00:00Z');
  await orders.transaction((trx) =>
    orders.insert(
      {
        id,
        user_id: 'u-1',
        session_id: 'ses_1',
        payment_method: 'cash',
        status,
        status_rank: STATUS_RANK[status],
        fare: JSON.stringify({ amount: 10_000, currency: 'IDR' }),
        pickup: JSON.stringify({ lat: -6.2, lng: 106.8 }),
        dropoff: JSON.stringify({ lat: -6.25, lng: 106.85 }),
        user_info: JSON.stringify({ id: 'u-1', name: 'Ana', stale: false }),
        payment: JSON.stringify(null),
        dispatch: JSON.stringify(dispatch),
        degraded: JSON.stringify([]),
        vehicle: JSON.stringify(null),
        last_event_sequence: null,
        idempotency_key: null,
        request_hash: null,
        first_answer: JSON.stringify(null),
        created_at: at,
        updated_at: at,
      },
      trx,
    ),
  );
  return id;
}

describe('OrdersRepository.applyDispatch', () => {
  const now = new Date('2026-01-01T00:01:00Z');

  it('records a pending order’s dispatch and moves its status forward', async () => {
    const id = await order('dispatch_pending', { status: 'pending' });
    await orders.applyDispatch(id, { status: 'dispatched', dispatchId: 'd-1' }, 'dispatched', now);
    const row = await orders.get(id);
    expect(row).toMatchObject({
      status: 'dispatched',
      status_rank: STATUS_RANK.dispatched,
      dispatch: { status: 'dispatched', dispatchId: 'd-1' },
    });
    expect(row?.updated_at).toEqual(now);
  });

  it('never moves the status back when an event already moved it further', async () => {
    const id = await order('driver_assigned', { status: 'dispatched', dispatchId: 'd-2' });
    await orders.applyDispatch(id, { status: 'queued', dispatchId: 'd-2' }, 'awaiting_manual_dispatch', now);
    expect(await orders.get(id)).toMatchObject({
      status: 'driver_assigned',
      status_rank: STATUS_RANK.driver_assigned,
      dispatch: { status: 'dispatched', dispatchId: 'd-2' },
    });
  });

  it('fills in a missing dispatch id without lowering the status', async () => {
    const id = await order('driver_assigned', { status: 'dispatched' });
    await orders.applyDispatch(id, { status: 'dispatched', dispatchId: 'd-3' }, 'dispatched', now);
    expect(await orders.get(id)).toMatchObject({
      status: 'driver_assigned',
      dispatch: { status: 'dispatched', dispatchId: 'd-3' },
    });
  });

  it('does nothing for an unknown order', async () => {
    await expect(
      orders.applyDispatch(randomUUID(), { status: 'dispatched', dispatchId: 'd-4' }, 'dispatched', now),
    ).resolves.toBeUndefined();
  });
});

describe('OrdersRepository.applyEvent', () => {
  const now = new Date('2026-01-01T00:02:00Z');

  it('applies a forward event with its vehicle and sequence', async () => {
    const id = await order('dispatched', { status: 'dispatched', dispatchId: 'd-5' });
    const vehicle = { plate: 'B 1 XY' };
    await expect(
      orders.applyEvent(id, { status: 'driver_assigned', dispatchId: 'd-5', sequence: 2, vehicle }, now),
    ).resolves.toBe(true);
    expect(await orders.get(id)).toMatchObject({
      status: 'driver_assigned',
      status_rank: STATUS_RANK.driver_assigned,
      dispatch: { status: 'dispatched', dispatchId: 'd-5' },
      vehicle,
      last_event_sequence: '2',
    });
  });

  it('refuses backward, older-by-sequence and post-terminal events', async () => {
    const id = await order('dispatch_pending', { status: 'pending' });
    expect(await orders.applyEvent(id, { status: 'dispatched', dispatchId: 'd-6', sequence: 5 }, now)).toBe(
      true,
    );
    expect(
      await orders.applyEvent(id, { status: 'driver_assigned', dispatchId: 'd-6', sequence: 4 }, now),
    ).toBe(false);
    expect(await orders.applyEvent(id, { status: 'awaiting_manual_dispatch', dispatchId: 'd-6' }, now)).toBe(
      false,
    );
    expect(await orders.applyEvent(id, { status: 'cancelled', dispatchId: 'd-6', sequence: 6 }, now)).toBe(
      true,
    );
    expect(await orders.applyEvent(id, { status: 'completed', dispatchId: 'd-6', sequence: 7 }, now)).toBe(
      false,
    );
    expect(await orders.get(id)).toMatchObject({
      status: 'cancelled',
      dispatch: { status: 'dispatched', dispatchId: 'd-6' },
      last_event_sequence: '6',
    });
  });

  it('marks a manual-dispatch event as queued and answers undefined for an unknown order', async () => {
    const id = await order('dispatch_pending', { status: 'pending' });
    expect(await orders.applyEvent(id, { status: 'awaiting_manual_dispatch', dispatchId: 'd-7' }, now)).toBe(
      true,
    );
    expect((await orders.get(id))?.dispatch).toEqual({ status: 'queued', dispatchId: 'd-7' });
    await expect(
      orders.applyEvent(randomUUID(), { status: 'dispatched', dispatchId: 'd-8' }, now),
    ).resolves.toBeUndefined();
  });
});

describe('OrdersRepository.freezeAnswer', () => {
  it('stores the first answer only once and returns the stored one after', async () => {
    const id = await order('dispatch_pending', { status: 'pending' });
    await expect(orders.freezeAnswer(id, { answer: 1 })).resolves.toEqual({ answer: 1 });
    await expect(orders.freezeAnswer(id, { answer: 2 })).resolves.toEqual({ answer: 1 });
    expect((await orders.get(id))?.first_answer).toEqual({ answer: 1 });
  });

  it('makes a later finishCreate return the frozen answer while still recording what it learnt', async () => {
    const id = await order('dispatch_pending', { status: 'pending' });
    await orders.freezeAnswer(id, { frozen: true });
    const row = await orders.finishCreate(
      id,
      {
        dispatch: { dispatch: { status: 'dispatched', dispatchId: 'd-9' }, status: 'dispatched' },
        degraded: [],
      },
      () => ({ frozen: false }),
      new Date('2026-01-01T00:03:00Z'),
    );
    expect(row.first_answer).toEqual({ frozen: true });
    expect(await orders.get(id)).toMatchObject({
      status: 'dispatched',
      dispatch: { status: 'dispatched', dispatchId: 'd-9' },
      first_answer: { frozen: true },
    });
  });
});
