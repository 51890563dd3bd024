import {
  startSimulators,
  type Simulators,
  EPHEMERAL_PORTS,
} from '../../downstream-simulators/src/simulators';
import { BBD_CANCEL_QUEUE, type BbdCancelQueue } from '../src/dispatch/dispatch.types';
import { TpgWorkers } from '../src/dispatch/tpg-workers';
import {
  call,
  dispatchBody,
  operator,
  startOrchestratorStub,
  startTpg,
  waitFor,
  type JsonResponse,
  type RunningTpg,
} from './support/tpg-harness';

interface Item {
  id: string;
  dispatchId: string;
  orderId: string;
  status: string;
  bbdChecked?: boolean;
  bbdCheckFailure?: string;
}

/** A breaker that never trips here, so the claim's BBD lookup is always admitted. */
const NEVER_TRIPS = {
  'bbd-dispatch': { callTimeoutMs: 300, timeoutMs: 400, failureThreshold: 10_000, intervalMs: 60_000 },
};

describe('Taxi Partner Gateway: one taxi per order when BBD answers are lost (e2e)', () => {
  let sims: Simulators;
  let orchestrator: Awaited<ReturnType<typeof startOrchestratorStub>>;
  let tpg: RunningTpg;
  const bbdHeaders = { 'x-api-key': 'bbd-direct' };

  beforeAll(async () => {
    sims = await startSimulators({ ports: EPHEMERAL_PORTS });
    orchestrator = await startOrchestratorStub();
  });

  afterAll(async () => {
    await orchestrator?.close();
    await sims?.stop();
  });

  afterEach(async () => {
    await tpg?.close();
    await sims.faults.clear();
    await call('DELETE', `${sims.controlUrl}/calls`);
  });

  /** What BBD did before its answer was lost: the order exists under our partnerOrderId. */
  async function bbdCreatesDirectly(partnerOrderId: string): Promise<string> {
    const created = await call<{ orderId: string }>(
      'POST',
      `${sims.urls.bbd}/v1/orders`,
      { partnerOrderId, pickup: { lat: -6.2, lng: 106.816 }, dropoff: { lat: -6.25, lng: 106.85 } },
      bbdHeaders,
    );
    expect(created.status).toBe(201);
    return created.body.orderId;
  }

  async function entryOf(dispatchId: string): Promise<Item> {
    const items = (
      await call<{ items: Item[] }>('GET', `${tpg.url}/manual-dispatch?status=pending`, undefined, operator())
    ).body.items;
    const entry = items.find((i) => i.dispatchId === dispatchId);
    if (!entry) throw new Error(`no pending entry for ${dispatchId}`);
    return entry;
  }

  /** Claims `entryId`, retrying while the manual replayer holds it (a leased entry cannot be claimed). */
  async function claim(entryId: string, name: string): Promise<JsonResponse<Item>> {
    let answer: JsonResponse<Item> | undefined;
    await waitFor('an entry not being replayed', async () => {
      answer = await call<Item>(
        'POST',
        `${tpg.url}/manual-dispatch/${entryId}/claim`,
        { operator: name },
        operator(),
      );
      return (answer.body as { entryStatus?: string }).entryStatus !== 'replaying';
    });
    return answer as JsonResponse<Item>;
  }

  /**
   * The `bbd-cancel` entry of `dispatchId` once `done` holds; the tests below poll every 60 s, so
   * each check kicks the cancel replayer instead (no replay can interleave with their assertions).
   */
  async function cancelEntryOnce(
    what: string,
    dispatchId: string,
    done: (e: { status: string; attempts: number }) => boolean,
  ) {
    const cancels = tpg.app.get<BbdCancelQueue>(BBD_CANCEL_QUEUE);
    const workers = tpg.app.get(TpgWorkers);
    await waitFor(what, async () => {
      const entry = await cancels.getByKey(dispatchId);
      if (entry !== undefined && done(entry)) return true;
      workers.cancelReplayer.kick();
      return false;
    });
    return cancels.getByKey(dispatchId);
  }

  async function duplicatesCancelled(): Promise<number> {
    const text = await (await fetch(`${tpg.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith('tpg_duplicate_bbd_orders_cancelled_total '));
    return line ? Number(line.split(' ')[1]) : NaN;
  }

  it('BBD timed out after creating the order: the claim finds it, 409 naming it, dispatched, no radio taxi', async () => {
    tpg = await startTpg({
      bbdUrl: sims.urls.bbd,
      orderOrchestratorUrl: orchestrator.url,
      breakerOverrides: NEVER_TRIPS,
      // No replay between the queueing and the claim: each would hold the entry 300 ms for nothing.
      replayPollMs: 60_000,
    });
    // Every create outlives the 300 ms call deadline: the simulator drops the aborted ones.
    await sims.faults.set('bbd', { mode: 'latency', latencyMs: 600, route: 'create-order' });
    const body = dispatchBody('lost');
    const created = await call<{ id: string; status: string; reason: string }>(
      'POST',
      `${tpg.url}/dispatches`,
      body,
    );
    expect(created.body).toMatchObject({ status: 'queued', reason: 'BBD timed out' });
    expect(sims.bbdOrders().filter((o) => o.partnerOrderId === body.orderId)).toHaveLength(0);
    // A create that BBD did complete although the gateway had given up on it.
    const bbdOrderId = await bbdCreatesDirectly(body.orderId);
    const entry = await entryOf(created.body.id);

    const claimed = await claim(entry.id, 'ana');
    expect(claimed.status).toBe(409);
    expect(claimed.body).toMatchObject({
      statusCode: 409,
      dispatchId: created.body.id,
      dispatchStatus: 'dispatched',
      bbdOrderId,
    });
    expect((await call('GET', `${tpg.url}/dispatches/${created.body.id}`)).body).toMatchObject({
      status: 'dispatched',
      bbdOrderId,
    });
    await waitFor('dispatched event', () =>
      orchestrator.events.some((e) => e.dispatchId === created.body.id && e.status === 'dispatched'),
    );
    expect(
      (
        await call(
          'POST',
          `${tpg.url}/manual-dispatch/${entry.id}/complete`,
          { vehicleId: 'RADIO-1' },
          operator(),
        )
      ).status,
    ).toBe(409);
    expect(
      orchestrator.events.some((e) => e.dispatchId === created.body.id && e.status === 'driver_assigned'),
    ).toBe(false);
    expect(sims.bbdOrders().filter((o) => o.partnerOrderId === body.orderId)).toHaveLength(1);
  });

  it('BBD down at the claim: claimed unchecked, completed; BBD held the order → cancelled once BBD heals', async () => {
    tpg = await startTpg({
      bbdUrl: sims.urls.bbd,
      orderOrchestratorUrl: orchestrator.url,
      // Replays only when kicked, so the cancel entry is still pending when checked (an open breaker
      // would also schedule one on its own).
      breakerOverrides: NEVER_TRIPS,
      replayPollMs: 60_000,
    });
    for (const route of ['create-order', 'find-orders', 'cancel-order'])
      await sims.faults.set('bbd', { mode: 'error', status: 503, route });
    const body = dispatchBody('down');
    const created = await call<{ id: string; status: string }>('POST', `${tpg.url}/dispatches`, body);
    expect(created.body.status).toBe('queued');
    const entry = await entryOf(created.body.id);

    const claimed = await claim(entry.id, 'ana');
    expect(claimed.status).toBe(200);
    expect(claimed.body).toMatchObject({
      status: 'claimed',
      bbdChecked: false,
      bbdCheckFailure: expect.stringMatching(/BBD error \(HTTP 503\)|bbd-dispatch circuit/),
    });
    const done = await call(
      'POST',
      `${tpg.url}/manual-dispatch/${entry.id}/complete`,
      { vehicleId: 'RADIO-2', operator: 'ana' },
      operator(),
    );
    expect(done.status).toBe(200);
    const attempted = await cancelEntryOnce(
      'a cancel attempt while BBD is down',
      created.body.id,
      (e) => e.attempts > 0 && e.status !== 'replaying',
    );
    expect(attempted).toMatchObject({ status: 'pending' });

    // BBD had taken the order (the create's answer was lost); only create-order works again.
    await sims.faults.set('bbd', { mode: 'latency', latencyMs: 0, route: 'create-order' });
    const bbdOrderId = await bbdCreatesDirectly(body.orderId);
    expect(await duplicatesCancelled()).toBe(0);

    await sims.faults.clear('bbd');
    const replayed = await cancelEntryOnce(
      'the cancel entry replayed',
      created.body.id,
      (e) => e.status === 'replayed',
    );
    expect(sims.bbdOrders().find((o) => o.orderId === bbdOrderId)?.status).toBe('cancelled');
    expect(replayed?.result).toEqual({ cancelled: [bbdOrderId], onTrip: [], completed: [] });
    expect(await duplicatesCancelled()).toBe(1);
    expect((await call('GET', `${tpg.url}/dispatches/${created.body.id}`)).body).toMatchObject({
      status: 'driver_assigned',
      vehicle: { vehicleId: 'RADIO-2' },
    });
  });

  it('complete when BBD holds no order: the cancel entry finishes without cancelling anything', async () => {
    tpg = await startTpg({
      bbdUrl: sims.urls.bbd,
      orderOrchestratorUrl: orchestrator.url,
      breakerOverrides: NEVER_TRIPS,
      // A manual replay between the claim's lookup and the claim would make a third find-orders call.
      replayPollMs: 60_000,
    });
    await sims.faults.set('bbd', { mode: 'error', status: 503, route: 'create-order' });
    const body = dispatchBody('clean');
    const created = await call<{ id: string }>('POST', `${tpg.url}/dispatches`, body);
    const entry = await entryOf(created.body.id);
    const claimed = await claim(entry.id, 'ana');
    expect(claimed.body).toMatchObject({ status: 'claimed', bbdChecked: true });
    expect(
      (
        await call(
          'POST',
          `${tpg.url}/manual-dispatch/${entry.id}/complete`,
          { vehicleId: 'RADIO-3' },
          operator(),
        )
      ).status,
    ).toBe(200);
    const replayed = await cancelEntryOnce(
      'the cancel entry replayed',
      created.body.id,
      (e) => e.status === 'replayed',
    );
    expect(replayed?.result).toEqual({ cancelled: [], onTrip: [], completed: [] });
    expect(sims.calls('bbd').routes['cancel-order']).toBeUndefined();
    expect(sims.calls('bbd').routes['find-orders']).toBe(2);
    expect(await duplicatesCancelled()).toBe(0);
  });
});
