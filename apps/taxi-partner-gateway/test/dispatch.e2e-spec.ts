import {
  startSimulators,
  type Simulators,
  EPHEMERAL_PORTS,
} from '../../downstream-simulators/src/simulators';
import {
  call,
  dispatchBody,
  FAST_BREAKERS,
  operator,
  startOrchestratorStub,
  startTpg,
  waitFor,
  type RunningTpg,
} from './support/tpg-harness';

interface DispatchAnswer {
  id: string;
  orderId: string;
  status: string;
  bbdOrderId?: string;
  reason?: string;
}

describe('Taxi Partner Gateway: dispatch (e2e, real Postgres + BBD simulator)', () => {
  let sims: Simulators;
  let orchestrator: Awaited<ReturnType<typeof startOrchestratorStub>>;
  let tpg: RunningTpg;

  const ordersOnBbd = (orderId: string) =>
    sims.bbdOrders().filter((o) => o.partnerOrderId === orderId).length;
  const createCalls = () => sims.calls('bbd').routes['create-order'] ?? 0;

  beforeAll(async () => {
    sims = await startSimulators({
      ports: EPHEMERAL_PORTS,
    });
    orchestrator = await startOrchestratorStub();
  });

  afterAll(async () => {
    await orchestrator?.close();
    await sims?.stop();
  });

  beforeEach(async () => {
    await sims.faults.clear();
    tpg = await startTpg({ bbdUrl: sims.urls.bbd, orderOrchestratorUrl: orchestrator.url });
  });

  afterEach(async () => {
    await tpg.close();
  });

  it('BBD healthy: 201 dispatched with the BBD order id, readable by id, orchestrator told', async () => {
    const body = dispatchBody();
    const res = await call<DispatchAnswer>('POST', `${tpg.url}/dispatches`, body);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ orderId: body.orderId, status: 'dispatched' });
    const onBbd = sims.bbdOrders().find((o) => o.partnerOrderId === body.orderId);
    expect(res.body.bbdOrderId).toBe(onBbd?.orderId);

    const read = await call<DispatchAnswer>('GET', `${tpg.url}/dispatches/${res.body.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: res.body.id, status: 'dispatched', bbdOrderId: onBbd?.orderId });
    expect((await call('GET', `${tpg.url}/dispatches/00000000-0000-4000-8000-000000000000`)).status).toBe(
      404,
    );
    expect((await call('GET', `${tpg.url}/dispatches/not-a-uuid`)).status).toBe(404);

    await waitFor('dispatched event', () => orchestrator.events.some((e) => e.dispatchId === res.body.id));
    expect(orchestrator.events.find((e) => e.dispatchId === res.body.id)).toMatchObject({
      orderId: body.orderId,
      status: 'dispatched',
    });
  });

  it('rejects bad input with 400 naming the field, before BBD and without writing', async () => {
    const before = createCalls();
    const bad = await call('POST', `${tpg.url}/dispatches`, {
      ...dispatchBody(),
      pickup: { lat: 91, lng: 0 },
    });
    expect(bad.status).toBe(400);
    expect(String(bad.body.message)).toContain('pickup.lat');
    const unknown = await call('POST', `${tpg.url}/dispatches`, { ...dispatchBody(), extra: 1 });
    expect(unknown.status).toBe(400);
    expect(String(unknown.body.message)).toContain('extra');
    const missing = await call('POST', `${tpg.url}/dispatches`, {
      pickup: { lat: 1, lng: 1 },
      dropoff: { lat: 1, lng: 1 },
    });
    expect(missing.status).toBe(400);
    expect(String(missing.body.message)).toContain('orderId');
    expect(createCalls()).toBe(before);
    const listed = await call<{ items: unknown[] }>(
      'GET',
      `${tpg.url}/manual-dispatch`,
      undefined,
      operator(),
    );
    expect(listed.body.items).toHaveLength(0);
  });

  it('the same orderId, also racing, gives one dispatch and one BBD order', async () => {
    const body = dispatchBody('race');
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => call<DispatchAnswer>('POST', `${tpg.url}/dispatches`, body)),
    );
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    expect(answers.every((a) => a.status === 201 && a.body.status === 'dispatched')).toBe(true);
    const again = await call<DispatchAnswer>('POST', `${tpg.url}/dispatches`, body);
    expect(again.body.id).toBe(answers[0].body.id);
    expect(ordersOnBbd(body.orderId)).toBe(1);
  });

  it.each([
    ['503', { mode: 'error' as const, status: 503 }, /HTTP 503/],
    ['hang', { mode: 'hang' as const }, /timed out/],
    ['reset', { mode: 'reset' as const }, /reset/],
    ['refuse', { mode: 'refuse' as const }, /refused/],
  ])(
    'BBD %s: 202 queued with the reason, the entry in the manual dispatch queue',
    async (_name, fault, reason) => {
      await sims.faults.set('bbd', fault);
      const body = dispatchBody();
      const started = Date.now();
      const res = await call<DispatchAnswer>('POST', `${tpg.url}/dispatches`, body);
      expect(Date.now() - started).toBeLessThan(3000);
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ orderId: body.orderId, status: 'queued' });
      expect(res.body.reason).toMatch(reason);
      const listed = await call<{ items: Array<Record<string, unknown>> }>(
        'GET',
        `${tpg.url}/manual-dispatch`,
        undefined,
        operator(),
      );
      expect(listed.status).toBe(200);
      // The replayer may be retrying it against the still-broken BBD at this very moment.
      expect(listed.body.items).toEqual([
        expect.objectContaining({ dispatchId: res.body.id, orderId: body.orderId, reason: res.body.reason }),
      ]);
      expect(['pending', 'replaying']).toContain(listed.body.items[0].status);
      expect(typeof listed.body.items[0].enqueuedAt).toBe('string');
    },
  );

  it('open breaker: 202 without calling BBD; vacant vehicles 503 with Retry-After; healed → queue drained once each', async () => {
    // The breaker reads a clock the test moves, so the open period cannot lapse mid-test on a slow machine.
    const OPEN_MS = 60_000;
    let offsetMs = 0;
    await tpg.close();
    tpg = await startTpg({
      bbdUrl: sims.urls.bbd,
      orderOrchestratorUrl: orchestrator.url,
      clock: () => Date.now() + offsetMs,
      breakerOverrides: { 'bbd-dispatch': { ...FAST_BREAKERS['bbd-dispatch'], timeoutMs: OPEN_MS } },
    });
    const vacantOk = await call<{ vehicles: unknown[] }>(
      'GET',
      `${tpg.url}/vehicles/vacant?lat=-6.2&lng=106.8&radius=3000`,
    );
    expect(vacantOk.status).toBe(200);
    expect(Array.isArray(vacantOk.body.vehicles)).toBe(true);
    expect((await call('GET', `${tpg.url}/vehicles/vacant?lat=abc&lng=106.8`)).status).toBe(400);

    await sims.faults.set('bbd', { mode: 'error', status: 503 });
    const queued: DispatchAnswer[] = [];
    for (let i = 0; i < 6; i++)
      queued.push((await call<DispatchAnswer>('POST', `${tpg.url}/dispatches`, dispatchBody('open'))).body);
    expect(queued.every((d) => d.status === 'queued')).toBe(true);
    const breakers = await call<Array<{ name: string; state: string }>>('GET', `${tpg.url}/breakers`);
    expect(breakers.body.find((b) => b.name === 'bbd-dispatch')?.state).toBe('open');
    expect(queued.at(-1)?.reason).toBe('bbd-dispatch circuit open');

    const callsBefore = sims.calls('bbd').total;
    const vacant = await call('GET', `${tpg.url}/vehicles/vacant?lat=-6.2&lng=106.8`);
    expect(vacant.status).toBe(503);
    expect(vacant.body).toMatchObject({ statusCode: 503, service: 'BBD', retry: true, fallbackUsed: false });
    expect(Number(vacant.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(sims.calls('bbd').total).toBe(callsBefore);

    const metrics = await (await fetch(`${tpg.url}/metrics`)).text();
    expect(metrics).toMatch(/circuit_breaker_state\{name="bbd-dispatch"\} 2/);
    expect(metrics).toMatch(/deferred_queue_depth\{queue="manual-dispatch",status="pending"\} [1-9]/);
    expect(metrics).toContain('deferred_queue_oldest_pending_age_seconds{queue="manual-dispatch"}');
    expect(metrics).toContain('deferred_queue_depth{queue="dispatch-events-outbox"');

    await sims.faults.clear('bbd');
    offsetMs += OPEN_MS + 1;
    await waitFor('queue drained', async () => {
      const all = await Promise.all(
        queued.map((d) => call<DispatchAnswer>('GET', `${tpg.url}/dispatches/${d.id}`)),
      );
      return all.every((r) => r.body.status === 'dispatched');
    });
    for (const d of queued) expect(ordersOnBbd(d.orderId)).toBe(1);
    const pending = await call<{ items: unknown[] }>(
      'GET',
      `${tpg.url}/manual-dispatch?status=pending`,
      undefined,
      operator(),
    );
    expect(pending.body.items).toHaveLength(0);
    await waitFor('dispatched events', () =>
      queued.every((d) =>
        orchestrator.events.some((e) => e.dispatchId === d.id && e.status === 'dispatched'),
      ),
    );
    const ready = await call<{ status: string; breakers: Array<{ name: string }> }>(
      'GET',
      `${tpg.url}/health/ready`,
    );
    expect(ready.status).toBe(200);
    expect(ready.body.breakers.map((b) => b.name).sort()).toEqual([
      'bbd-dispatch',
      'bbd-tracking',
      'order-orchestrator-callbacks',
    ]);
  });

  it('tracking down while dispatch works', async () => {
    const first = await call<DispatchAnswer>('POST', `${tpg.url}/dispatches`, dispatchBody());
    const tracked = await call<{ tracking: { orderId: string } }>(
      'GET',
      `${tpg.url}/dispatches/${first.body.id}/tracking`,
    );
    expect(tracked.status).toBe(200);
    expect(tracked.body.tracking.orderId).toBe(first.body.bbdOrderId);

    await sims.faults.set('bbd', { mode: 'hang', route: 'tracking' });
    for (let i = 0; i < 4; i++) {
      const res = await call('GET', `${tpg.url}/dispatches/${first.body.id}/tracking`);
      expect(res.status).toBe(503);
      expect(res.body).toMatchObject({ service: 'BBD', retry: true });
    }
    const breakers = await call<Array<{ name: string; state: string }>>('GET', `${tpg.url}/breakers`);
    expect(breakers.body.find((b) => b.name === 'bbd-tracking')?.state).toBe('open');
    expect(breakers.body.find((b) => b.name === 'bbd-dispatch')?.state).toBe('closed');
    const second = await call<DispatchAnswer>('POST', `${tpg.url}/dispatches`, dispatchBody());
    expect(second.status).toBe(201);
    expect(second.body.status).toBe('dispatched');
  });

  it('design integration test: BBD failing 80 %, 100 dispatches: breaker opens, rejections, none lost', async () => {
    await sims.faults.set('bbd', { mode: 'flaky', failureRate: 0.8, status: 503 });
    const answers: Array<{ status: number; body: DispatchAnswer }> = [];
    const bodies = Array.from({ length: 100 }, () => dispatchBody('flaky'));
    for (let i = 0; i < bodies.length; i += 10) {
      answers.push(
        ...(await Promise.all(
          bodies.slice(i, i + 10).map((b) => call<DispatchAnswer>('POST', `${tpg.url}/dispatches`, b)),
        )),
      );
    }
    expect(answers).toHaveLength(100);
    for (const a of answers) {
      expect([201, 202]).toContain(a.status);
      expect(
        a.status === 201 ? a.body.status === 'dispatched' && !!a.body.bbdOrderId : a.body.status === 'queued',
      ).toBe(true);
    }
    const metrics = await (await fetch(`${tpg.url}/metrics`)).text();
    const transitionsToOpen = metrics.match(
      /circuit_breaker_transitions_total\{name="bbd-dispatch",from="closed",to="open"\} (\d+)/,
    );
    expect(Number(transitionsToOpen?.[1] ?? 0)).toBeGreaterThan(0);
    const rejected = metrics.match(
      /circuit_breaker_requests_total\{name="bbd-dispatch",result="rejected"\} (\d+)/,
    );
    expect(Number(rejected?.[1] ?? 0)).toBeGreaterThan(0);
    expect(answers.some((a) => a.body.reason === 'bbd-dispatch circuit open')).toBe(true);
    // None lost: every dispatch is readable and either on BBD or in the manual dispatch queue.
    const queuedIds = new Set(
      (
        await call<{ items: Array<{ dispatchId: string }> }>(
          'GET',
          `${tpg.url}/manual-dispatch`,
          undefined,
          operator(),
        )
      ).body.items.map((i) => i.dispatchId),
    );
    for (const a of answers) {
      const read = await call<DispatchAnswer>('GET', `${tpg.url}/dispatches/${a.body.id}`);
      expect(read.status).toBe(200);
      if (a.body.status === 'queued') expect(queuedIds.has(a.body.id)).toBe(true);
      else expect(ordersOnBbd(a.body.orderId)).toBe(1);
    }
    // Recovery: every order ends on BBD exactly once.
    await sims.faults.clear('bbd');
    await waitFor(
      'every dispatch dispatched',
      async () => {
        const all = await Promise.all(
          answers.map((a) => call<DispatchAnswer>('GET', `${tpg.url}/dispatches/${a.body.id}`)),
        );
        return all.every((r) => r.body.status === 'dispatched');
      },
      20_000,
    );
    for (const b of bodies) expect(ordersOnBbd(b.orderId)).toBe(1);
  }, 60_000);
});
