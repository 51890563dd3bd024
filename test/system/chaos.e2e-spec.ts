import { call, OPERATOR_TOKEN, SystemHarness, waitFor, type Downstream, type ServiceName } from './harness';
import { OrderLoad, type OrderOutcome } from './order-load';
import { checkEveryAnswer, waitForDrainedQueues } from './system-checks';

const chaos = process.env.CHAOS_TEST === 'true' ? describe : describe.skip;
const CONCURRENCY = 4;
const PER_STEP = 8;

/**
 * The whole local system as processes; each downstream broken and healed in turn while a
 * bounded load (PER_STEP orders per step, CONCURRENCY at a time) runs through POST /orders.
 */
chaos('system chaos: every downstream broken and healed under load (CHAOS_TEST=true)', () => {
  const sys = new SystemHarness({
    // A short fresh TTL so orders keep asking user-service and its outage is seen.
    env: { USER_CACHE_FRESH_TTL_MS: '300' },
  });
  const load = new OrderLoad(sys, { runId: `chaos${Date.now().toString(36)}`, users: 6, retryForMs: 0 });
  const manuallyAssigned = new Set<string>();

  // Long: start() waits while another system suite holds the machine lock.
  beforeAll(() => sys.start(), 420_000);
  afterAll(() => sys.stop(), 30_000);

  /**
   * Breaks each downstream of `pairs`, runs load until each breaker has opened and alerted,
   * checks `duringOutage`, then heals them one by one in reverse order (a failover's second
   * choice is only called while the first is broken) running load until each breaker closed.
   */
  async function outage(
    service: ServiceName,
    pairs: Array<[Downstream, string]>,
    duringOutage: (outcomes: OrderOutcome[]) => Promise<void>,
  ): Promise<void> {
    const since = Date.now();
    const breakers = pairs.map(([, b]) => b);
    for (const [d] of pairs) await sys.setFault(d, { mode: 'error', status: 503 });
    const during: OrderOutcome[] = [];
    for (const breaker of breakers)
      await waitFor(
        `${service}: breaker ${breaker} opens and alerts (warning)`,
        async () => {
          during.push(...(await load.run(PER_STEP / 2, CONCURRENCY)));
          return sys.alerts.find(breaker, 'warning', since).length > 0;
        },
        30_000,
      );
    for (const breaker of breakers) {
      const transitions = (await sys.metrics(service)).filter(
        (s) =>
          s.name === 'circuit_breaker_transitions_total' &&
          s.labels.name === breaker &&
          s.labels.to === 'open',
      );
      expect(transitions.reduce((n, s) => n + s.value, 0)).toBeGreaterThan(0);
    }
    during.push(...(await load.run(PER_STEP, CONCURRENCY)));
    // Degraded, never refused: every order placed during the outage was taken.
    expect(during.filter((o) => o.status !== 201).map((o) => `${o.index}: ${o.status}`)).toEqual([]);
    await duringOutage(during);

    for (const [downstream, breaker] of [...pairs].reverse()) {
      const healedAt = Date.now();
      await sys.clearFaults(downstream);
      await waitFor(
        `${service}: breaker ${breaker} closes and alerts (info)`,
        async () => {
          await load.run(2, 2);
          return (
            (await sys.breakerState(service, breaker)) === 'closed' &&
            sys.alerts.find(breaker, 'info', healedAt).length > 0
          );
        },
        30_000,
      );
    }
  }

  it(
    'baseline: orders are dispatched, online ones get a Midtrans link, nothing degraded',
    () =>
      sys.guard(async () => {
        const outcomes = await load.run(PER_STEP + 4, CONCURRENCY);
        expect(outcomes.map((o) => o.status)).toEqual(outcomes.map(() => 201));
        for (const o of outcomes) {
          expect(o.order?.dispatch.status).toBe('dispatched');
          expect(o.order?.degraded).toEqual([]);
          if (o.paymentMethod === 'online') expect(o.order?.payment?.gateway).toBe('midtrans');
          else expect(o.order?.payment).toBeNull();
        }
      }),
    60_000,
  );

  it(
    'BBD down: bbd-dispatch opens, orders queue for manual dispatch, an operator assigns one; healed: the queue drains',
    () =>
      sys.guard(async () => {
        const tpg = sys.url('taxi-partner-gateway');
        const auth = { authorization: `Bearer ${OPERATOR_TOKEN}` };
        await outage('taxi-partner-gateway', [['bbd', 'bbd-dispatch']], async (during) => {
          const queued = during.filter((o) => o.order?.dispatch.status === 'queued');
          expect(queued.length).toBeGreaterThan(0);
          for (const o of queued) expect(o.order?.status).toBe('awaiting_manual_dispatch');
          expect(
            await sys.queueDepth('taxi-partner-gateway', 'manual-dispatch', ['pending']),
          ).toBeGreaterThan(0);
          const pending = await call<{ items: Array<{ id: string; orderId: string }> }>(
            'GET',
            `${tpg}/manual-dispatch?status=pending`,
            undefined,
            auth,
          );
          expect(pending.status).toBe(200);
          expect(pending.body.items.length).toBeGreaterThan(0);
          const entry = pending.body.items[0];
          expect(
            (await call('POST', `${tpg}/manual-dispatch/${entry.id}/claim`, { operator: 'ops-1' }, auth))
              .status,
          ).toBe(200);
          expect(
            (await call('POST', `${tpg}/manual-dispatch/${entry.id}/claim`, { operator: 'ops-2' }, auth))
              .status,
          ).toBe(409);
          const done = await call(
            'POST',
            `${tpg}/manual-dispatch/${entry.id}/complete`,
            { vehicleId: 'V-MANUAL-1', driverName: 'Budi', operator: 'ops-1' },
            auth,
          );
          expect(done.status).toBe(200);
          manuallyAssigned.add(entry.orderId);
          await waitFor('the orchestrator hears of the operator assignment', async () => {
            const o = await call<{ status: string }>(
              'GET',
              `${sys.url('order-orchestrator')}/orders/${entry.orderId}`,
            );
            return o.body.status === 'driver_assigned';
          });
        });
        await waitFor(
          'manual dispatch queue drained',
          async () => (await sys.queueDepth('taxi-partner-gateway', 'manual-dispatch')) === 0,
          20_000,
        );
      }),
    90_000,
  );

  it(
    'Midtrans down: payment-midtrans opens, links move to Xendit; healed: it closes',
    () =>
      sys.guard(async () => {
        await outage('payment-processor', [['midtrans', 'payment-midtrans']], async (during) => {
          const online = during.filter((o) => o.paymentMethod === 'online');
          expect(online.length).toBeGreaterThan(0);
          for (const o of online) expect(o.order?.payment?.gateway).toBe('xendit');
        });
      }),
    90_000,
  );

  it(
    'user-service down: user-service opens, cached users are served stale and flagged; healed: it closes',
    () =>
      sys.guard(async () => {
        await outage('order-orchestrator', [['user-service', 'user-service']], async (during) => {
          const stale = during.filter((o) => o.order?.user.stale === true);
          expect(stale.length).toBeGreaterThan(0);
          for (const o of stale) expect(o.order?.degraded).toContain('user-service');
        });
      }),
    90_000,
  );

  it(
    'google-maps and HERE down: both breakers open, quotes come from the cache or the estimate; healed: both close',
    () =>
      sys.guard(async () => {
        await outage(
          'session-manager',
          [
            ['google-maps', 'google-maps'],
            ['here', 'here-maps'],
          ],
          async (during) => {
            const providers = new Set(during.slice(-PER_STEP).map((o) => o.session?.quote.provider));
            for (const p of providers) expect(['cache', 'estimate']).toContain(p);
          },
        );
      }),
    90_000,
  );

  it(
    'at the end: every order, dispatch and payment link answered 2xx exists exactly once; every outbox drains',
    () =>
      sys.guard(async () => {
        const findings = await checkEveryAnswer(sys, load, { settleMs: 30_000, manuallyAssigned });
        const busy = await waitForDrainedQueues(sys, 30_000);
        process.stdout.write(
          `chaos summary: requests=${load.requests} 2xx=${load.answers2xx} orders=${findings.orders} ` +
            `dispatches=${findings.dispatches} links=${findings.paymentLinks} bbdOrders=${findings.bbdOrders} ` +
            `alerts=${sys.alerts.alerts.length} losses=${findings.losses.length} duplicates=${findings.duplicates.length}\n`,
        );
        expect(findings.losses).toEqual([]);
        expect(findings.duplicates).toEqual([]);
        expect(busy).toEqual([]);
        expect(findings.orders).toBe(load.accepted.length);
        expect(sys.unexpectedExits()).toEqual([]);
      }),
    90_000,
  );
});
