import {
  HttpClientError,
  HttpServerError,
  ServiceUnavailableError,
  createDatabase,
  type Breaker,
  type BreakerState,
  type Database,
} from '@app/resilience';
import { ApiExceptionFilter } from '@app/service-kit';
import { HttpStatus, Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { randomBytes } from 'node:crypto';
import type {
  DispatchAnswer,
  DispatchRequest,
  PaymentLinkRequest,
  PaymentLinkView,
  SessionView,
} from '../clients/downstream.types';
import type { PaymentProcessorClient } from '../clients/payment-processor.client';
import type { SessionManagerClient } from '../clients/session-manager.client';
import type { TpgClient } from '../clients/tpg.client';
import { ORCHESTRATOR_MIGRATIONS } from '../database/orders.migrations';
import { OrdersRepository } from '../database/orders.repository';
import type { OrchestratorTables } from '../database/orders.tables';
import { OrderOutboxes } from '../outbox/order-outboxes';
import type { UserDirectory } from '../users/user-directory';
import type { CreateOrderDto } from './dto/create-order.dto';
import { LoadShedder } from './load-shedder';
import { OrderMetrics } from './order.metrics';
import { OrdersService } from './orders.service';

/*
 * OrdersService against the real Postgres (its own schema per suite), the real outboxes and
 * repository; only the HTTP clients of the downstreams are stubbed (the class is isolated).
 */

const URL = process.env.DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };
const cash: CreateOrderDto = { sessionId: 'ses_1', userId: 'u-1', paymentMethod: 'cash' };
const online: CreateOrderDto = { ...cash, paymentMethod: 'online' };
const httpRequest = { method: 'POST', path: '/orders', headers: {} } as never;

afterEach(() => jest.restoreAllMocks());

/** A clock that runs with real time and can be moved forward. */
class MovableClock {
  private offset = 0;
  readonly now = (): number => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

/** A breaker whose state the test sets; runs calls straight through. */
function stubBreaker(state: BreakerState = 'closed', retryAfterMs = 0): Breaker & { state: BreakerState } {
  return {
    state,
    retryAfterMs: () => retryAfterMs,
    execute: <T>(fn: (signal: AbortSignal) => Promise<T>) => fn(new AbortController().signal),
  } as unknown as Breaker & { state: BreakerState };
}

interface Downstreams {
  dispatch: (request: DispatchRequest) => Promise<DispatchAnswer>;
  createLink: (request: PaymentLinkRequest) => Promise<PaymentLinkView>;
}

const dispatched = (request: DispatchRequest): Promise<DispatchAnswer> =>
  Promise.resolve({ id: `d-${request.orderId}`, status: 'dispatched' });
const linkFor = (request: PaymentLinkRequest): PaymentLinkView => ({
  id: `pl-${request.orderId}`,
  gateway: 'midtrans',
  url: `https://pay.example.com/${request.orderId}`,
});

async function openDatabase(schema: string, queryTimeoutMs?: number): Promise<Database<OrchestratorTables>> {
  return createDatabase<OrchestratorTables>({ url: URL, schema, logger: silent, queryTimeoutMs });
}

async function dropDatabase(db: Database<OrchestratorTables>): Promise<void> {
  await db.pool.query(`drop schema if exists "${db.schema}" cascade`);
}

function build(
  db: Database<OrchestratorTables>,
  downstreams: Downstreams,
  options: { duplicateWaitMs?: number; commitCheckMs?: number; clock?: MovableClock } = {},
) {
  const clock = options.clock ?? new MovableClock();
  const calls = { dispatch: 0, createLink: 0 };
  const tpg = {
    dispatch: (request: DispatchRequest) => (calls.dispatch++, downstreams.dispatch(request)),
    dispatchUnguarded: (request: DispatchRequest) => (calls.dispatch++, downstreams.dispatch(request)),
  } as unknown as TpgClient;
  const payments = {
    createLink: (request: PaymentLinkRequest) => (calls.createLink++, downstreams.createLink(request)),
    createLinkUnguarded: (request: PaymentLinkRequest) => (
      calls.createLink++,
      downstreams.createLink(request)
    ),
  } as unknown as PaymentProcessorClient;
  const paymentBreaker = stubBreaker();
  const registry = new Registry();
  const orders = new OrdersRepository(db);
  const outboxes = new OrderOutboxes({
    database: db,
    orders,
    tpg: { client: tpg, breaker: stubBreaker() },
    payments: { client: payments, breaker: paymentBreaker },
    registry,
    clock: clock.now,
    pollIntervalMs: 60_000,
    holderWaitMs: 2000,
    logger: silent,
  });
  const session: SessionView = {
    id: 'ses_1',
    userId: 'u-1',
    pickup: { lat: -6.2, lng: 106.8 },
    dropoff: { lat: -6.25, lng: 106.85 },
    expiresAt: '2099-01-01T00:00:00Z',
    quote: {
      distanceMeters: 5000,
      durationSeconds: 600,
      fare: { amount: 25_000, currency: 'IDR' },
      provider: 'cache',
    },
  } as SessionView;
  const users = {
    get: () => Promise.resolve({ user: { id: 'u-1', name: 'Ana', email: 'ana@example.com' }, stale: false }),
    isCached: () => Promise.resolve(true),
  } as unknown as UserDirectory;
  const service = new OrdersService(
    {
      orders,
      outboxes,
      sessions: {
        client: { get: () => Promise.resolve(session) } as unknown as SessionManagerClient,
        breaker: stubBreaker(),
      },
      users,
      payments,
      tpg,
      shedder: new LoadShedder(stubBreaker(), stubBreaker(), users, paymentBreaker),
      metrics: new OrderMetrics(registry),
      duplicateWaitMs: options.duplicateWaitMs ?? 5000,
      commitCheckMs: options.commitCheckMs ?? 2000,
    },
    clock.now,
  );
  return { service, orders, outboxes, calls, clock, paymentBreaker };
}

/** A TPG that holds the call until the test answers it. */
function heldTpg(): {
  dispatch: Downstreams['dispatch'];
  called: Promise<void>;
  answer: (answer: DispatchAnswer) => void;
} {
  let markCalled: () => void = () => undefined;
  let answer: (answer: DispatchAnswer) => void = () => undefined;
  const called = new Promise<void>((resolve) => (markCalled = resolve));
  const answered = new Promise<DispatchAnswer>((resolve) => (answer = resolve));
  return {
    dispatch: () => (markCalled(), answered),
    called,
    answer: (value) => answer(value),
  };
}

/** Resolves once `probe` gives a value (polls every 10 ms, at most 5 s). */
async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const until = Date.now() + 5000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('OrdersService.create when COMMIT gets no answer', () => {
  const schema = `orders_svc_commit_${randomBytes(4).toString('hex')}`;
  const QUERY_TIMEOUT_MS = 200;
  let admin: Database<OrchestratorTables>;
  let db: Database<OrchestratorTables>;

  beforeAll(async () => {
    admin = await openDatabase(schema);
    await admin.migrate(ORCHESTRATOR_MIGRATIONS);
    // COMMIT runs this deferred trigger: it stands in for a disk stall longer than the query timeout.
    await admin.pool.query(`
      create function "${schema}".slow_commit() returns trigger language plpgsql as $$
      begin
        perform pg_sleep(0.5);
        if new.session_id = 'ses_abort' then raise exception 'commit refused'; end if;
        return null;
      end $$`);
    await admin.pool.query(
      `create constraint trigger slow_commit after insert on "${schema}".orders
       deferrable initially deferred for each row execute function "${schema}".slow_commit()`,
    );
    db = await openDatabase(schema, QUERY_TIMEOUT_MS);
  });

  afterAll(async () => {
    await db.close();
    await dropDatabase(admin);
    await admin.close();
  });

  it('answers the order (once, dispatched) when the server committed after the client timed out', async () => {
    const { service, orders, outboxes, calls } = build(db, {
      dispatch: dispatched,
      createLink: () => Promise.reject(new Error('not used')),
    });
    const { order, replayed } = await service.create(cash, 'commit-key-1');
    expect(replayed).toBe(false);
    expect(order).toMatchObject({ status: 'dispatched', dispatch: { status: 'dispatched' }, degraded: [] });
    const rows = await orders.history('u-1', 10);
    expect(rows.map((row) => row.id)).toEqual([order.id]);
    expect(rows[0].first_answer).toEqual(order);
    // Delivered inline, not left to the replayer: a drain sends nothing more.
    await outboxes.drain();
    expect(calls.dispatch).toBe(1);
    expect((await outboxes.dispatchQueue.list()).map((entry) => entry.status)).toEqual(['completed']);
  });

  it('still answers 503 when the commit did not happen, after a bounded look', async () => {
    const { service, orders, calls } = build(
      db,
      { dispatch: dispatched, createLink: () => Promise.reject(new Error('not used')) },
      { commitCheckMs: 300 },
    );
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const started = Date.now();
    const err: unknown = await service.create({ ...cash, sessionId: 'ses_abort' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(new ApiExceptionFilter().describe(err, httpRequest).status).toBe(HttpStatus.SERVICE_UNAVAILABLE);
    expect((await orders.history('u-1', 10)).filter((row) => row.session_id === 'ses_abort')).toEqual([]);
    expect(calls.dispatch).toBe(0);
  });
  it('cuts each look at the bound: a read that never answers (stalled pool) still ends in 503', async () => {
    const { service, orders } = build(
      db,
      { dispatch: dispatched, createLink: () => Promise.reject(new Error('not used')) },
      { commitCheckMs: 300 },
    );
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    // Every look for the row hangs, as a read on a stalled connection does.
    jest.spyOn(orders, 'get').mockImplementation(() => new Promise(() => undefined));
    const err: unknown = await service.create({ ...cash, sessionId: 'ses_abort' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(new ApiExceptionFilter().describe(err, httpRequest).status).toBe(HttpStatus.SERVICE_UNAVAILABLE);
  });
});

describe('OrdersService.create replays', () => {
  const schema = `orders_svc_replay_${randomBytes(4).toString('hex')}`;
  let db: Database<OrchestratorTables>;

  beforeAll(async () => {
    db = await openDatabase(schema);
    await db.migrate(ORCHESTRATOR_MIGRATIONS);
  });

  afterAll(async () => {
    await dropDatabase(db);
    await db.close();
  });

  it('answers a replay at once once the wait since the order was written is over, and every replay alike', async () => {
    // The first request stops for good after the commit (its TPG call never returns).
    const { service, orders, clock } = build(
      db,
      {
        dispatch: () => new Promise<never>(() => undefined),
        createLink: () => Promise.reject(new Error('n/a')),
      },
      { duplicateWaitMs: 5000 },
    );
    void service.create(cash, 'dead-first');
    const written = await eventually(() => orders.getByIdempotencyKey('dead-first'));
    clock.advance(5000);

    const started = Date.now();
    const first = await service.create(cash, 'dead-first');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(first).toMatchObject({ replayed: true, order: { id: written.id, status: 'dispatch_pending' } });

    await orders.applyEvent(
      written.id,
      { status: 'driver_assigned', dispatchId: 'd-1', vehicle: { plate: 'B 1' } },
      new Date(clock.now()),
    );
    const second = await service.create(cash, 'dead-first');
    expect(second.order).toEqual(first.order);
    expect((await orders.get(written.id))?.first_answer).toEqual(first.order);
    expect((await service.get(written.id)).status).toBe('driver_assigned');
  });

  it('still waits for a live first request within the bound, and answers as it did', async () => {
    const tpg = heldTpg();
    const { service, orders, clock } = build(
      db,
      {
        dispatch: tpg.dispatch,
        createLink: () => Promise.reject(new Error('n/a')),
      },
      { duplicateWaitMs: 5000 },
    );
    const first = service.create(cash, 'live-first');
    await eventually(() => orders.getByIdempotencyKey('live-first'));
    clock.advance(4000);
    const replay = service.create(cash, 'live-first');
    await tpg.called;
    tpg.answer({ id: 'd-live', status: 'dispatched' });
    const [a, b] = await Promise.all([first, replay]);
    expect(b).toEqual({ replayed: true, order: a.order });
    expect(a.order.dispatch).toEqual({ status: 'dispatched', dispatchId: 'd-live' });
  });

  it('gives a slow first request that finishes after the freeze the frozen answer', async () => {
    const tpg = heldTpg();
    const { service, orders, clock } = build(
      db,
      {
        dispatch: tpg.dispatch,
        createLink: () => Promise.reject(new Error('n/a')),
      },
      { duplicateWaitMs: 5000 },
    );
    const slow = service.create(cash, 'slow-first');
    const written = await eventually(() => orders.getByIdempotencyKey('slow-first'));
    clock.advance(5000);
    const replay = await service.create(cash, 'slow-first');
    expect(replay.order.dispatch).toEqual({ status: 'pending' });

    await tpg.called;
    tpg.answer({ id: 'd-slow', status: 'dispatched' });
    const first = await slow;
    expect(first.replayed).toBe(false);
    expect(first.order).toEqual(replay.order);
    // The row itself still learns what the slow request learnt.
    expect(await service.get(written.id)).toMatchObject({
      status: 'dispatched',
      dispatch: { status: 'dispatched', dispatchId: 'd-slow' },
    });
  });
});

describe('OrdersService.paymentLink', () => {
  const schema = `orders_svc_payment_${randomBytes(4).toString('hex')}`;
  let db: Database<OrchestratorTables>;

  beforeAll(async () => {
    db = await openDatabase(schema);
    await db.migrate(ORCHESTRATOR_MIGRATIONS);
  });

  afterAll(async () => {
    await dropDatabase(db);
    await db.close();
  });

  const refused = (): Promise<never> =>
    Promise.reject(
      new HttpClientError('payment-processor', 400, { message: 'customer.email must be an email' }),
    );
  const unavailable = (): Promise<never> => Promise.reject(new HttpServerError('payment-processor', 503, {}));

  it('answers 502 without Retry-After, naming the error, for an entry that failed for good', async () => {
    const { service, outboxes, calls } = build(db, { dispatch: dispatched, createLink: refused });
    const { order } = await service.create(online);
    await outboxes.drain();
    const [entry] = await outboxes.paymentQueue.list({ status: 'failed' });
    expect(entry?.key).toBe(order.id);
    const before = calls.createLink;

    const err: unknown = await service.paymentLink(order.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    const answer = new ApiExceptionFilter().describe(err, httpRequest);
    expect(answer.status).toBe(HttpStatus.BAD_GATEWAY);
    expect(answer.retryAfterS).toBeUndefined();
    expect(answer.body).toMatchObject({ error: 'Bad Gateway', retry: false, orderId: order.id });
    expect(answer.body.message).toContain(entry.lastError);
    expect(calls.createLink).toBe(before);
  });

  it('answers 502 naming the processor’s words when the inline call is refused', async () => {
    let createLink: Downstreams['createLink'] = unavailable;
    const { service } = build(db, { dispatch: dispatched, createLink: (request) => createLink(request) });
    const { order } = await service.create(online);
    createLink = refused;
    const err: unknown = await service.paymentLink(order.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    const answer = new ApiExceptionFilter().describe(err, httpRequest);
    expect(answer.status).toBe(HttpStatus.BAD_GATEWAY);
    expect(answer.body.message).toContain('customer.email must be an email');
  });

  it('answers 503 at once while the payment-processor breaker is open, touching nothing', async () => {
    const { service, outboxes, calls, paymentBreaker } = build(db, {
      dispatch: dispatched,
      createLink: unavailable,
    });
    const { order } = await service.create(online);
    const entry = await outboxes.paymentEntry(order.id);
    const history = await outboxes.paymentQueue.events(entry!.id);
    paymentBreaker.state = 'open';
    (paymentBreaker as { retryAfterMs: () => number }).retryAfterMs = () => 7000;
    const lookups = jest.spyOn(outboxes, 'paymentEntry');
    const before = calls.createLink;

    const err: unknown = await service.paymentLink(order.id).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ServiceUnavailableError);
    const answer = new ApiExceptionFilter().describe(err, httpRequest);
    expect(answer).toMatchObject({ status: HttpStatus.SERVICE_UNAVAILABLE, retryAfterS: 7 });
    expect(answer.body).toMatchObject({ service: 'payment-processor', shed: true });
    expect(lookups).not.toHaveBeenCalled();
    expect(calls.createLink).toBe(before);
    expect(await outboxes.paymentQueue.events(entry!.id)).toEqual(history);
  });

  it('records the link on the row before the entry completes: a failed write leaves the entry to the replayer', async () => {
    let createLink: Downstreams['createLink'] = unavailable;
    const { service, orders, outboxes } = build(db, {
      dispatch: dispatched,
      createLink: (request) => createLink(request),
    });
    const { order } = await service.create(online);
    expect(order.payment).toBeNull();
    createLink = (request) => Promise.resolve(linkFor(request));
    jest.spyOn(orders, 'setPayment').mockRejectedValueOnce(new Error('connection lost'));

    await expect(service.paymentLink(order.id)).rejects.toBeInstanceOf(ServiceUnavailableError);
    const entry = await outboxes.paymentEntry(order.id);
    expect(entry?.status).toBe('pending');
    expect((await orders.get(order.id))?.payment).toBeNull();

    await outboxes.drain();
    expect((await orders.get(order.id))?.payment).toEqual({
      linkId: `pl-${order.id}`,
      gateway: 'midtrans',
      url: `https://pay.example.com/${order.id}`,
    });
  });

  it('records on the row a link whose entry another holder completed without recording it', async () => {
    const { service, orders, outboxes, calls } = build(db, { dispatch: dispatched, createLink: unavailable });
    const { order } = await service.create(online);
    const entry = await outboxes.paymentEntry(order.id);
    const link = linkFor(entry!.payload);
    await outboxes.paymentQueue.claim(entry!.id, 'crashed-holder');
    await outboxes.paymentQueue.complete(entry!.id, 'crashed-holder', link);
    const before = calls.createLink;

    const expected = { linkId: link.id, gateway: link.gateway, url: link.url };
    await expect(service.paymentLink(order.id)).resolves.toEqual(expected);
    expect((await orders.get(order.id))?.payment).toEqual(expected);
    expect(calls.createLink).toBe(before);
  });
});
