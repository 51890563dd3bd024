import request from 'supertest';
import { startWorld, waitFor, type World } from './support/world';

jest.setTimeout(60_000);

interface OrderBody {
  id: string;
  status: string;
  userId: string;
  sessionId: string;
  fare: { amount: number; currency: string };
  user: { id: string; name: string; stale: boolean };
  payment: { linkId: string; gateway: string; url: string } | null;
  dispatch: { status: string; dispatchId?: string };
  degraded: string[];
}

const PICKUP = { lat: -6.1754, lng: 106.8272 };
const DROPOFF = { lat: -6.2297, lng: 106.8295 };

describe('order orchestrator (e2e, with the real session manager, TPG and payment processor)', () => {
  let world: World;
  let api: () => ReturnType<typeof request>;
  let userSeq = 0;

  /** A user id no earlier test has cached. */
  const freshUser = (): string => `u-e2e-${++userSeq}-${Date.now()}`;

  async function session(userId: string): Promise<string> {
    const res = await request(world.sessionManager.url)
      .post('/sessions')
      .send({ userId, pickup: PICKUP, dropoff: DROPOFF })
      .expect(201);
    return res.body.id as string;
  }

  async function order(
    userId: string,
    paymentMethod: 'online' | 'cash' = 'online',
    key?: string,
  ): Promise<request.Response> {
    const sessionId = await session(userId);
    const req = api().post('/orders');
    if (key) req.set('Idempotency-Key', key);
    return req.send({ sessionId, userId, paymentMethod });
  }

  async function getOrder(id: string): Promise<OrderBody> {
    return (await api().get(`/orders/${id}`).expect(200)).body as OrderBody;
  }

  /** Lets every open breaker of the orchestrator reach half-open (their timeout is 500 ms). */
  const passBreakerTimeouts = (): void => world.clock.advance(600);

  beforeAll(async () => {
    world = await startWorld();
    api = () => request(world.orchestratorUrl);
  });

  afterAll(async () => {
    await world?.stop();
  });

  afterEach(async () => {
    await world.sims.faults.clear();
    await Promise.all([
      world.sessionManager.set({ mode: 'pass' }),
      world.paymentProcessor.set({ mode: 'pass' }),
      world.tpg.set({ mode: 'pass' }),
    ]);
    passBreakerTimeouts();
  });

  it('takes an online order: session, user, payment link and a BBD dispatch', async () => {
    const userId = freshUser();
    const res = await order(userId);
    expect(res.status).toBe(201);
    const body = res.body as OrderBody;
    expect(body).toMatchObject({
      status: 'dispatched',
      userId,
      user: { id: userId, stale: false },
      dispatch: { status: 'dispatched' },
      degraded: [],
    });
    expect(body.dispatch.dispatchId).toEqual(expect.any(String));
    expect(body.payment).toMatchObject({
      gateway: 'midtrans',
      linkId: expect.any(String),
      url: expect.any(String),
    });
    expect(Number.isInteger(body.fare.amount)).toBe(true);
    expect(body.fare.currency).toBe('IDR');
    expect(await getOrder(body.id)).toMatchObject({
      id: body.id,
      status: 'dispatched',
      payment: body.payment,
    });

    const cash = await order(freshUser(), 'cash');
    expect(cash.status).toBe(201);
    expect(cash.body).toMatchObject({ payment: null, degraded: [], status: 'dispatched' });
    await api().get('/orders/00000000-0000-4000-8000-000000000000').expect(404);
  });

  it('rejects bad input naming the field, before any downstream call', async () => {
    const before = world.sessionManager.requests;
    const bad = await api()
      .post('/orders')
      .send({ sessionId: 's', userId: 'u-1', paymentMethod: 'card' })
      .expect(400);
    expect(bad.body.message).toContain('paymentMethod');
    const missing = await api().post('/orders').send({ userId: 'u-1', paymentMethod: 'cash' }).expect(400);
    expect(missing.body.message).toContain('sessionId');
    await api()
      .post('/orders')
      .send({ sessionId: 's', userId: 'u-1', paymentMethod: 'cash', extra: true })
      .expect(400);
    expect(world.sessionManager.requests).toBe(before);
  });

  it('answers 422 for an unknown, expired or foreign session and for an unknown user', async () => {
    const userId = freshUser();
    const unknown = await api()
      .post('/orders')
      .send({ sessionId: '00000000-0000-4000-8000-000000000000', userId, paymentMethod: 'cash' })
      .expect(422);
    expect(unknown.body.message).toContain('sessionId');

    const sessionId = await session(userId);
    const foreign = await api()
      .post('/orders')
      .send({ sessionId, userId: freshUser(), paymentMethod: 'cash' })
      .expect(422);
    expect(foreign.body.message).toContain('userId');

    world.sessionClock.advance(60_001);
    await api().post('/orders').send({ sessionId, userId, paymentMethod: 'cash' }).expect(422);

    const ghost = `u-never-${Date.now()}`;
    const ghostSession = await session(ghost);
    const noUser = await api()
      .post('/orders')
      .send({ sessionId: ghostSession, userId: ghost, paymentMethod: 'cash' })
      .expect(422);
    expect(noUser.body.message).toContain(ghost);
  });

  it.each([
    ['error', { mode: 'error', status: 500 }],
    ['hang', { mode: 'hang' }],
    ['refuse', { mode: 'refuse' }],
  ] as const)(
    'answers 503 with Retry-After while the session manager is down (%s), then sheds load',
    async (_name, fault) => {
      const userId = freshUser();
      const sessionId = await session(userId);
      await world.sessionManager.set(fault);
      for (let i = 0; i < 2; i++) {
        const res = await api()
          .post('/orders')
          .send({ sessionId, userId, paymentMethod: 'cash' })
          .expect(503);
        expect(res.headers['retry-after']).toMatch(/^\d+$/);
        expect(res.body.service).toBe('session-manager');
      }
      // The breaker is open now: shed at once, nothing sent downstream.
      const sent = world.sessionManager.requests;
      const userCalls = world.sims.calls('user-service').total;
      const shed = await api().post('/orders').send({ sessionId, userId, paymentMethod: 'cash' }).expect(503);
      expect(shed.headers['retry-after']).toMatch(/^\d+$/);
      expect(shed.body).toMatchObject({ service: 'session-manager', shed: true });
      expect(world.sessionManager.requests).toBe(sent);
      expect(world.sims.calls('user-service').total).toBe(userCalls);

      await world.sessionManager.set({ mode: 'pass' });
      passBreakerTimeouts();
      await api().post('/orders').send({ sessionId, userId, paymentMethod: 'cash' }).expect(201);
    },
  );

  it('serves the stale user on a plain user-service failure and while its breaker is open', async () => {
    const userId = freshUser();
    const first = await order(userId, 'cash');
    expect(first.body.user.stale).toBe(false);
    world.clock.advance(1001); // past the fresh TTL: the next order asks user-service again

    await world.sims.faults.set('user-service', { mode: 'error', status: 500 });
    const stale = await order(userId, 'cash');
    expect(stale.status).toBe(201);
    expect(stale.body.user).toEqual({ id: userId, name: first.body.user.name, stale: true });
    expect(stale.body.degraded).toContain('user-service');

    await world.sims.faults.set('user-service', { mode: 'hang' });
    const hung = await order(userId, 'cash');
    expect(hung.body.user.stale).toBe(true);

    const breakers = (await api().get('/breakers').expect(200)).body as { name: string; state: string }[];
    expect(breakers.find((b) => b.name === 'user-service')?.state).toBe('open');
    const calls = world.sims.calls('user-service').total;
    const whileOpen = await order(userId, 'cash');
    expect(whileOpen.status).toBe(201);
    expect(whileOpen.body.user.stale).toBe(true);
    expect(world.sims.calls('user-service').total).toBe(calls);

    // A user never cached cannot be served while the breaker is open: shed before the session is read.
    const cold = freshUser();
    const coldSession = await session(cold);
    const sent = world.sessionManager.requests;
    const shed = await api()
      .post('/orders')
      .send({ sessionId: coldSession, userId: cold, paymentMethod: 'cash' })
      .expect(503);
    expect(shed.body).toMatchObject({ service: 'user-service', shed: true });
    expect(shed.headers['retry-after']).toMatch(/^\d+$/);
    expect(world.sessionManager.requests).toBe(sent);

    const metrics = (await api().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/order_degraded_answers_total\{reason="user-service"\} [1-9]/);
    expect(metrics).toMatch(/stale_cache_lookups_total\{cache="users",kind="stale"\} [1-9]/);
  });

  it('answers 503 for a user never cached when user-service fails (breaker still closed)', async () => {
    await world.sims.faults.set('user-service', { mode: 'refuse' });
    const res = await order(freshUser(), 'cash');
    expect(res.status).toBe(503);
    expect(res.body.service).toBe('user-service');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
  });

  it.each([
    ['error', { mode: 'error', status: 503 }],
    ['hang', { mode: 'hang' }],
    ['refuse', { mode: 'refuse' }],
  ] as const)(
    'keeps the order without a payment link while the payment processor is down (%s), and makes it once it is back',
    async (_name, fault) => {
      await world.paymentProcessor.set(fault);
      const res = await order(freshUser());
      expect(res.status).toBe(201);
      const body = res.body as OrderBody;
      expect(body.payment).toBeNull();
      expect(body.degraded).toEqual(['payment-processor']);
      expect(body.status).toBe('dispatched');
      await api().post(`/orders/${body.id}/payment-link`).expect(503);

      await world.paymentProcessor.set({ mode: 'pass' });
      passBreakerTimeouts();
      const repaired = await waitFor(async () => {
        const current = await getOrder(body.id);
        return current.payment !== null ? current : undefined;
      });
      expect(repaired.payment?.gateway).toBe('midtrans');
      expect(repaired.degraded).toEqual([]);
      const link1 = await api().post(`/orders/${body.id}/payment-link`).expect(201);
      const link2 = await api().post(`/orders/${body.id}/payment-link`).expect(201);
      expect(link1.body).toEqual(repaired.payment);
      expect(link2.body).toEqual(link1.body);
    },
  );

  it('makes a payment link on demand for an order that has none yet', async () => {
    await world.paymentProcessor.set({ mode: 'error', status: 500 });
    const res = await order(freshUser());
    expect(res.body.payment).toBeNull();
    await world.paymentProcessor.set({ mode: 'pass' });
    passBreakerTimeouts();
    const link = await api().post(`/orders/${res.body.id}/payment-link`).expect(201);
    expect(link.body).toMatchObject({ linkId: expect.any(String), gateway: 'midtrans' });
    expect((await getOrder(res.body.id)).payment).toEqual(link.body);
    const cash = await order(freshUser(), 'cash');
    await api().post(`/orders/${cash.body.id}/payment-link`).expect(422);
  });

  it.each([
    ['refuse', { mode: 'refuse' }],
    ['error', { mode: 'error', status: 502 }],
    ['hang', { mode: 'hang' }],
  ] as const)(
    'keeps dispatch pending while TPG is down (%s) and hands it over once TPG is back',
    async (_name, fault) => {
      await world.tpg.set(fault);
      const taken = [await order(freshUser()), await order(freshUser(), 'cash')];
      for (const res of taken) {
        expect(res.status).toBe(201);
        expect(res.body).toMatchObject({ status: 'dispatch_pending', dispatch: { status: 'pending' } });
        expect(res.body.degraded).toContain('taxipartnergateway');
      }
      const metrics = (await api().get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/deferred_queue_depth\{queue="dispatch-outbox",status="pending"\} [1-9]/);

      await world.tpg.set({ mode: 'pass' });
      passBreakerTimeouts();
      for (const res of taken) {
        const dispatched = await waitFor(async () => {
          const current = await getOrder(res.body.id);
          return current.status === 'dispatched' ? current : undefined;
        });
        expect(dispatched.dispatch).toEqual({ status: 'dispatched', dispatchId: expect.any(String) });
        expect(dispatched.degraded).not.toContain('taxipartnergateway');
      }
    },
  );

  it('moves the status on dispatch events, idempotently and never backwards', async () => {
    const res = await order(freshUser(), 'cash');
    const { id } = res.body as OrderBody;
    const dispatchId = res.body.dispatch.dispatchId as string;
    const event = (status: string, extra: Record<string, unknown> = {}) =>
      api()
        .post('/internal/dispatch-events')
        .send({ orderId: id, dispatchId, status, ...extra });

    await event('driver_assigned', { vehicle: { vehicleId: 'v-1', driverName: 'Budi' } }).expect(204);
    await event('driver_assigned', { vehicle: { vehicleId: 'v-1', driverName: 'Budi' } }).expect(204);
    expect((await getOrder(id)).status).toBe('driver_assigned');
    await event('dispatched').expect(204); // late, older event
    expect((await getOrder(id)).status).toBe('driver_assigned');
    await event('completed', { sequence: 7 }).expect(204);
    await event('cancelled', { sequence: 3 }).expect(204);
    expect((await getOrder(id)).status).toBe('completed');

    await event('teleported').expect(400);
    await api()
      .post('/internal/dispatch-events')
      .send({ orderId: '00000000-0000-4000-8000-000000000000', dispatchId, status: 'dispatched' })
      .expect(404);
  });

  it('replays the first answer for a repeated Idempotency-Key and refuses it for another body', async () => {
    const userId = freshUser();
    const sessionId = await session(userId);
    const key = `key-${Date.now()}`;
    const send = (paymentMethod: string) =>
      api().post('/orders').set('Idempotency-Key', key).send({ sessionId, userId, paymentMethod });
    const first = await send('online').expect(201);
    const dispatchesBefore = world.sims.bbdOrders().length;
    const again = await send('online').expect(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(world.sims.bbdOrders().length).toBe(dispatchesBefore);
    const other = await send('cash').expect(422);
    expect(other.body.message).toContain('Idempotency-Key');
  });

  it('never creates two orders for concurrent requests with one Idempotency-Key', async () => {
    const userId = freshUser();
    const sessionId = await session(userId);
    const key = `race-${Date.now()}`;
    const bbdBefore = world.sims.bbdOrders().length;
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        api()
          .post('/orders')
          .set('Idempotency-Key', key)
          .send({ sessionId, userId, paymentMethod: 'online' }),
      ),
    );
    for (const res of answers) expect(res.status).toBe(201);
    const ids = new Set(answers.map((res) => res.body.id));
    expect(ids.size).toBe(1);
    expect(world.sims.bbdOrders().length - bbdBefore).toBe(1);
    expect(answers.filter((res) => res.headers['idempotent-replayed'] === 'true')).toHaveLength(5);
  });

  it('reports a queued dispatch when BBD is down, then driver_assigned once an operator completes it in TPG', async () => {
    await world.sims.faults.set('bbd', { mode: 'error', status: 503 });
    const res = await order(freshUser(), 'cash');
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      status: 'awaiting_manual_dispatch',
      dispatch: { status: 'queued' },
      degraded: [],
    });

    const operator = (path: string) =>
      request(world.tpg.url).post(path).set('Authorization', 'Bearer local-operator-token');
    // TPG's replayer may hold the entry for a moment (a probe to BBD): poll until it is pending.
    const item = await waitFor(async () => {
      const queue = await request(world.tpg.url)
        .get('/manual-dispatch?status=pending')
        .set('Authorization', 'Bearer local-operator-token')
        .expect(200);
      return (queue.body.items as { id: string; orderId: string }[]).find((i) => i.orderId === res.body.id);
    });
    expect(item).toBeDefined();
    // 409 while TPG's replayer holds it for a probe to BBD (which fails: BBD is down); then ours.
    await waitFor(async () => {
      const claim = await operator(`/manual-dispatch/${item?.id}/claim`).send({ operator: 'op-1' });
      if (claim.status !== 200 && claim.status !== 409) throw new Error(`claim answered ${claim.status}`);
      return claim.status === 200;
    });
    await operator(`/manual-dispatch/${item?.id}/complete`)
      .send({ vehicleId: 'B 1234 XYZ', driverName: 'Joko' })
      .expect(200);
    const assigned = await waitFor(async () => {
      const current = await getOrder(res.body.id);
      return current.status === 'driver_assigned' ? current : undefined;
    });
    expect(assigned.dispatch.dispatchId).toBe(res.body.dispatch.dispatchId);
  });

  it('reports health, breakers and metrics', async () => {
    const ready = await api().get('/health/ready').expect(200);
    expect(ready.body.breakers.map((b: { name: string }) => b.name).sort()).toEqual([
      'payment-processor',
      'session-manager',
      'taxipartnergateway',
      'user-service',
    ]);
    await api().get('/health/live').expect(200, { status: 'ok' });
    const metrics = (await api().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/orders_total\{status="dispatched"\} [1-9]/);
    expect(metrics).toContain('circuit_breaker_state{name="taxipartnergateway"}');
  });
});
