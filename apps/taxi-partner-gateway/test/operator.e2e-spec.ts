import {
  startSimulators,
  type Simulators,
  EPHEMERAL_PORTS,
} from '../../downstream-simulators/src/simulators';
import {
  call,
  dispatchBody,
  operator,
  startOrchestratorStub,
  startTpg,
  waitFor,
  type RunningTpg,
} from './support/tpg-harness';
import { DispatchService } from '../src/dispatch/dispatch.service';
import { MANUAL_DISPATCH_QUEUE, type ManualDispatchQueue } from '../src/dispatch/dispatch.types';

interface Item {
  id: string;
  dispatchId: string;
  orderId: string;
  status: string;
  claimedBy?: string;
}

describe('Taxi Partner Gateway: operators and orchestrator events (e2e)', () => {
  let sims: Simulators;
  let orchestrator: Awaited<ReturnType<typeof startOrchestratorStub>>;
  let tpg: RunningTpg;

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

  afterEach(async () => {
    await tpg?.close();
    orchestrator.down = false;
    await sims.faults.clear();
  });

  it('operator flow: token required, racing claims (one 200, rest 409), release, complete → driver_assigned', async () => {
    // A long open timeout keeps the breaker open, so the replayer leaves the entries to the operators.
    tpg = await startTpg({
      bbdUrl: sims.urls.bbd,
      orderOrchestratorUrl: orchestrator.url,
      breakerOverrides: {
        'bbd-dispatch': { callTimeoutMs: 300, timeoutMs: 60_000, failureThreshold: 3, intervalMs: 60_000 },
      },
    });
    await sims.faults.set('bbd', { mode: 'error', status: 503 });
    const dispatches = [];
    for (let i = 0; i < 4; i++)
      dispatches.push(
        (await call<{ id: string; status: string }>('POST', `${tpg.url}/dispatches`, dispatchBody('op')))
          .body,
      );
    expect(dispatches.every((d) => d.status === 'queued')).toBe(true);

    expect((await call('GET', `${tpg.url}/manual-dispatch`)).status).toBe(401);
    expect(
      (await call('GET', `${tpg.url}/manual-dispatch`, undefined, { authorization: 'Bearer wrong-token-x' }))
        .status,
    ).toBe(401);
    expect(
      (await call('GET', `${tpg.url}/manual-dispatch`, undefined, { authorization: 'Basic abc' })).status,
    ).toBe(401);
    expect((await call('GET', `${tpg.url}/manual-dispatch?status=bogus`, undefined, operator())).status).toBe(
      400,
    );

    const pending = await call<{ items: Item[] }>(
      'GET',
      `${tpg.url}/manual-dispatch?status=pending`,
      undefined,
      operator(),
    );
    expect(pending.body.items.map((i) => i.dispatchId).sort()).toEqual(dispatches.map((d) => d.id).sort());
    const target = pending.body.items[0];

    const claims = await Promise.all(
      ['ana', 'budi', 'citra', 'dewi', 'eko'].map((name) =>
        call<Item>('POST', `${tpg.url}/manual-dispatch/${target.id}/claim`, { operator: name }, operator()),
      ),
    );
    const won = claims.filter((c) => c.status === 200);
    expect(won).toHaveLength(1);
    expect(claims.filter((c) => c.status === 409)).toHaveLength(4);
    const holder = won[0].body.claimedBy as string;
    expect(won[0].body.status).toBe('claimed');

    const claimed = await call<{ items: Item[] }>(
      'GET',
      `${tpg.url}/manual-dispatch?status=claimed`,
      undefined,
      operator(),
    );
    expect(claimed.body.items).toEqual([expect.objectContaining({ id: target.id, claimedBy: holder })]);

    const released = await call<Item>(
      'POST',
      `${tpg.url}/manual-dispatch/${target.id}/release`,
      { operator: holder },
      operator(),
    );
    expect(released.status).toBe(200);
    expect(released.body.status).toBe('pending');
    expect(
      (
        await call(
          'POST',
          `${tpg.url}/manual-dispatch/${target.id}/complete`,
          { vehicleId: 'V-1' },
          operator(),
        )
      ).status,
    ).toBe(409);

    expect(
      (await call('POST', `${tpg.url}/manual-dispatch/${target.id}/claim`, { operator: 'fajar' }, operator()))
        .status,
    ).toBe(200);
    expect(
      (await call('POST', `${tpg.url}/manual-dispatch/${target.id}/claim`, { operator: 'gita' }, operator()))
        .status,
    ).toBe(409);
    expect(
      (await call('POST', `${tpg.url}/manual-dispatch/${target.id}/complete`, {}, operator())).status,
    ).toBe(400);
    const done = await call<Item>(
      'POST',
      `${tpg.url}/manual-dispatch/${target.id}/complete`,
      { vehicleId: 'B-1234-XYZ', driverName: 'Slamet' },
      operator(),
    );
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('completed');
    const dispatch = await call<{ status: string; vehicle: unknown }>(
      'GET',
      `${tpg.url}/dispatches/${target.dispatchId}`,
    );
    expect(dispatch.body).toMatchObject({
      status: 'driver_assigned',
      vehicle: { vehicleId: 'B-1234-XYZ', driverName: 'Slamet' },
    });
    await waitFor('driver_assigned event', () =>
      orchestrator.events.some((e) => e.dispatchId === target.dispatchId && e.status === 'driver_assigned'),
    );
    const forTarget = orchestrator.events
      .filter((e) => e.dispatchId === target.dispatchId)
      .map((e) => e.status);
    expect(forTarget).toEqual(['queued', 'driver_assigned']);
    expect(orchestrator.events.find((e) => e.status === 'driver_assigned')?.vehicle).toEqual({
      vehicleId: 'B-1234-XYZ',
      driverName: 'Slamet',
    });
    expect(
      (await call('POST', `${tpg.url}/manual-dispatch/999999/claim`, { operator: 'x' }, operator())).status,
    ).toBe(404);
    // The breaker stayed open: no replay reached BBD.
    expect(sims.bbdOrders().filter((o) => o.partnerOrderId === target.orderId)).toHaveLength(0);
  });

  it('claimed entries are never replayed; unclaimed ones are, once BBD is back', async () => {
    tpg = await startTpg({ bbdUrl: sims.urls.bbd, orderOrchestratorUrl: orchestrator.url });
    await sims.faults.set('bbd', { mode: 'error', status: 503 });
    const a = (
      await call<{ id: string; orderId: string }>('POST', `${tpg.url}/dispatches`, dispatchBody('keep'))
    ).body;
    const b = (
      await call<{ id: string; orderId: string }>('POST', `${tpg.url}/dispatches`, dispatchBody('replay'))
    ).body;
    let entryA: Item | undefined;
    await waitFor('entry of a claimable', async () => {
      const items = (
        await call<{ items: Item[] }>('GET', `${tpg.url}/manual-dispatch`, undefined, operator())
      ).body.items;
      entryA = items.find((i) => i.dispatchId === a.id);
      if (!entryA) return false;
      const claim = await call(
        'POST',
        `${tpg.url}/manual-dispatch/${entryA.id}/claim`,
        { operator: 'ana' },
        operator(),
      );
      return claim.status === 200;
    });
    await sims.faults.clear('bbd');
    await waitFor(
      'b dispatched',
      async () =>
        (await call<{ status: string }>('GET', `${tpg.url}/dispatches/${b.id}`)).body.status === 'dispatched',
    );
    expect(sims.bbdOrders().filter((o) => o.partnerOrderId === b.orderId)).toHaveLength(1);
    expect(sims.bbdOrders().filter((o) => o.partnerOrderId === a.orderId)).toHaveLength(0);
    expect((await call<{ status: string }>('GET', `${tpg.url}/dispatches/${a.id}`)).body.status).toBe(
      'queued',
    );
  });

  it('an operator cannot add a radio taxi to a dispatch a stale replay already put on BBD: 409 naming the order', async () => {
    tpg = await startTpg({
      bbdUrl: sims.urls.bbd,
      orderOrchestratorUrl: orchestrator.url,
      breakerOverrides: {
        'bbd-dispatch': { callTimeoutMs: 300, timeoutMs: 60_000, failureThreshold: 1, intervalMs: 60_000 },
      },
    });
    await sims.faults.set('bbd', { mode: 'error', status: 503 });
    const [first, second] = [
      (await call<{ id: string; orderId: string }>('POST', `${tpg.url}/dispatches`, dispatchBody('stale')))
        .body,
      (await call<{ id: string; orderId: string }>('POST', `${tpg.url}/dispatches`, dispatchBody('stale')))
        .body,
    ];
    const items = (
      await call<{ items: Item[] }>('GET', `${tpg.url}/manual-dispatch?status=pending`, undefined, operator())
    ).body.items;
    const entryOf = (id: string) => items.find((i) => i.dispatchId === id) as Item;
    expect(
      (
        await call(
          'POST',
          `${tpg.url}/manual-dispatch/${entryOf(first.id).id}/claim`,
          { operator: 'op-x' },
          operator(),
        )
      ).status,
    ).toBe(200);
    await sims.faults.clear('bbd');
    // What a replayer whose lease expired still does with both entries (its breaker is its own).
    const queue = tpg.app.get<ManualDispatchQueue>(MANUAL_DISPATCH_QUEUE);
    const dispatches = tpg.app.get(DispatchService);
    for (const d of [first, second])
      await dispatches.replay(await queue.get(entryOf(d.id).id), new AbortController().signal);
    const bbdOrderOf = (orderId: string) => sims.bbdOrders().find((o) => o.partnerOrderId === orderId);

    const done = await call(
      'POST',
      `${tpg.url}/manual-dispatch/${entryOf(first.id).id}/complete`,
      { vehicleId: 'RADIO-1', operator: 'op-x' },
      operator(),
    );
    expect(done.status).toBe(409);
    expect(done.body).toMatchObject({
      statusCode: 409,
      dispatchId: first.id,
      dispatchStatus: 'dispatched',
      bbdOrderId: bbdOrderOf(first.orderId)?.orderId,
    });
    const claim = await call(
      'POST',
      `${tpg.url}/manual-dispatch/${entryOf(second.id).id}/claim`,
      { operator: 'op-y' },
      operator(),
    );
    expect(claim.status).toBe(409);
    expect(claim.body).toMatchObject({
      dispatchStatus: 'dispatched',
      bbdOrderId: bbdOrderOf(second.orderId)?.orderId,
    });
    expect((await call('GET', `${tpg.url}/dispatches/${first.id}`)).body).toMatchObject({
      status: 'dispatched',
    });
    expect((await queue.get(entryOf(first.id).id)).status).toBe('claimed');
    expect((await queue.get(entryOf(second.id).id)).status).toBe('pending');
  });

  it('an order BBD refuses for good (422) is parked as failed, not replayed forever; an operator takes it', async () => {
    tpg = await startTpg({
      bbdUrl: sims.urls.bbd,
      orderOrchestratorUrl: orchestrator.url,
      replayBatchSize: 1,
      replayConcurrency: 1,
    });
    await sims.faults.set('bbd', { mode: 'error', status: 422 });
    const created = (
      await call<{ id: string; status: string; reason: string }>(
        'POST',
        `${tpg.url}/dispatches`,
        dispatchBody('poison'),
      )
    ).body;
    expect(created).toMatchObject({ status: 'queued', reason: 'BBD refused the order (HTTP 422)' });
    const queue = tpg.app.get<ManualDispatchQueue>(MANUAL_DISPATCH_QUEUE);
    // Polled on the queue itself: the operator API is rate limited.
    await waitFor(
      'the refused entry parked as failed',
      async () => (await queue.getByKey(created.id))?.status === 'failed',
    );
    expect(await queue.getByKey(created.id)).toMatchObject({ status: 'failed', attempts: 1 });
    const failed = await call<{ items: Item[] }>(
      'GET',
      `${tpg.url}/manual-dispatch?status=failed`,
      undefined,
      operator(),
    );
    const entry = failed.body.items.find((i) => i.dispatchId === created.id);
    expect(entry).toMatchObject({ status: 'failed' });

    const claim = await call<Item>(
      'POST',
      `${tpg.url}/manual-dispatch/${entry!.id}/claim`,
      { operator: 'ana' },
      operator(),
    );
    expect(claim.status).toBe(200);
    expect(claim.body).toMatchObject({ status: 'claimed', claimedBy: 'ana' });
    const done = await call(
      'POST',
      `${tpg.url}/manual-dispatch/${entry!.id}/complete`,
      { vehicleId: 'RADIO-7', operator: 'ana' },
      operator(),
    );
    expect(done.status).toBe(200);
    expect((await call('GET', `${tpg.url}/dispatches/${created.id}`)).body).toMatchObject({
      status: 'driver_assigned',
      vehicle: { vehicleId: 'RADIO-7' },
    });
  });

  it('dispatch events wait while the orchestrator is down and arrive in order once it is back', async () => {
    tpg = await startTpg({ bbdUrl: sims.urls.bbd, orderOrchestratorUrl: orchestrator.url });
    orchestrator.down = true;
    const before = orchestrator.events.length;
    const created = [];
    for (let i = 0; i < 8; i++) {
      if (i === 4) await sims.faults.set('bbd', { mode: 'error', status: 500 });
      created.push(
        (await call<{ id: string; status: string }>('POST', `${tpg.url}/dispatches`, dispatchBody('evt')))
          .body,
      );
    }
    expect(created.slice(0, 4).every((d) => d.status === 'dispatched')).toBe(true);
    expect(created.slice(4).every((d) => d.status === 'queued')).toBe(true);
    await waitFor('callbacks breaker open', async () => {
      const list = (await call<Array<{ name: string; state: string }>>('GET', `${tpg.url}/breakers`)).body;
      return list.find((x) => x.name === 'order-orchestrator-callbacks')?.state === 'open';
    });
    expect(orchestrator.events.length).toBe(before);
    const metrics = await (await fetch(`${tpg.url}/metrics`)).text();
    expect(metrics).toMatch(/deferred_queue_depth\{queue="dispatch-events-outbox",status="pending"\} [1-9]/);

    orchestrator.down = false;
    await waitFor('every event delivered', () => orchestrator.events.length - before >= 8);
    const delivered = orchestrator.events.slice(before);
    expect(delivered.map((e) => e.dispatchId)).toEqual(created.map((d) => d.id));
    expect(delivered.map((e) => e.status)).toEqual(created.map((d) => d.status));
  });
});
