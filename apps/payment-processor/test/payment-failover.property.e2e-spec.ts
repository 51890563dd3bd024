import fc from 'fast-check';
import { Pool } from 'pg';
import request from 'supertest';
import {
  startSimulators,
  type FaultSpec,
  type Simulators,
  EPHEMERAL_PORTS,
} from '../../downstream-simulators/src/simulators';
import {
  createTestSchemaName,
  describeOnRealPostgres,
  dropSchema,
  testDatabaseUrl,
} from '../../../test/support/postgres';
import type { GatewayName } from '../src/config/payment-processor.config';
import { GatewayInspector } from './support/gateway-inspector';
import {
  eventually,
  freePort,
  startPaymentApp,
  testBreakerOverrides,
  type PaymentApp,
} from './support/payment-test-app';

const GATEWAYS: GatewayName[] = ['midtrans', 'xendit', 'nicepay'];
const LINKS_PER_RUN = 200;
const PHASES = 4;
const CONCURRENCY = 10;

const faultArb: fc.Arbitrary<FaultSpec | null> = fc.oneof(
  fc.constant(null),
  fc.constant<FaultSpec>({ mode: 'error', status: 503 }),
  fc.constant<FaultSpec>({ mode: 'error', status: 500 }),
  fc.constant<FaultSpec>({ mode: 'error', status: 429 }),
  fc.constant<FaultSpec>({ mode: 'refuse' }),
  fc.constant<FaultSpec>({ mode: 'reset' }),
  fc.constant<FaultSpec>({ mode: 'hang' }),
  fc.constant<FaultSpec>({ mode: 'latency', latencyMs: 700 }),
  fc
    .double({ min: 0.2, max: 0.8, noNaN: true })
    .map<FaultSpec>((failureRate) => ({ mode: 'flaky', failureRate, status: 503 })),
);

/** One fault (or none) per gateway for each phase of the run. */
const scheduleArb = fc.array(fc.tuple(faultArb, faultArb, faultArb), {
  minLength: PHASES,
  maxLength: PHASES,
});

interface Outcome {
  orderId: string;
  status: number;
  id?: string;
  gateway?: GatewayName;
  url?: string;
}

describeOnRealPostgres(
  'its call deadlines are calibrated for concurrent Postgres sessions, not one serialised PGlite session',
)('Payment Processor failover property (random fault schedules, 200 links a run)', () => {
  const databaseUrl = testDatabaseUrl();
  let sims: Simulators;
  let inspect: GatewayInspector;
  let port: number;
  let run = 0;

  beforeAll(async () => {
    port = await freePort();
    sims = await startSimulators({
      ports: EPHEMERAL_PORTS,
      paymentWebhookBaseUrl: `http://127.0.0.1:${port}`,
      seed: 7,
    });
    inspect = new GatewayInspector(sims);
  });

  afterAll(async () => {
    await sims?.stop();
  });

  it('every link is payable at exactly one gateway or its request got a 503, and survives a restart', async () => {
    await fc.assert(
      fc.asyncProperty(scheduleArb, async (schedule) => {
        run += 1;
        const schema = createTestSchemaName(`payments_prop${run}`);
        const overrides = testBreakerOverrides();
        for (const name of Object.keys(overrides)) {
          Object.assign(overrides[name], { callTimeoutMs: 300, timeoutMs: 200, failureThreshold: 3 });
        }
        let pa: PaymentApp | undefined = await startPaymentApp({
          databaseUrl,
          schema,
          sims,
          port,
          breakerOverrides: overrides,
        });
        const pool = new Pool({ connectionString: databaseUrl, max: 2 });
        try {
          const outcomes: Outcome[] = [];
          for (const [phase, faults] of schedule.entries()) {
            await sims.faults.clear();
            for (const [index, fault] of faults.entries())
              if (fault) await sims.faults.set(GATEWAYS[index], fault);
            const perPhase = LINKS_PER_RUN / PHASES;
            for (let start = 0; start < perPhase; start += CONCURRENCY) {
              const batch = Array.from({ length: Math.min(CONCURRENCY, perPhase - start) }, (_, i) => {
                const orderId = `prop-${run}-${phase}-${start + i}`;
                return request((pa as PaymentApp).url)
                  .post('/payment-links')
                  .send({
                    orderId,
                    amount: 10_000 + start + i,
                    currency: 'IDR',
                    customer: { name: 'Budi', email: 'budi@example.com' },
                  })
                  .then((res) => ({
                    orderId,
                    status: res.status,
                    id: res.body.id,
                    gateway: res.body.gateway,
                    url: res.body.url,
                  }));
              });
              outcomes.push(...(await Promise.all(batch)));
            }
          }
          expect(outcomes).toHaveLength(LINKS_PER_RUN);
          // Only 201 or "all payment gateways failed" 503: never a 500, never a 409 (distinct keys).
          expect(outcomes.filter((o) => o.status !== 201 && o.status !== 503)).toEqual([]);

          // Heal, then let the outbox finish every orphan expiry.
          await sims.faults.clear();
          await eventually(async () => {
            await (pa as PaymentApp).outbox.drainOnce();
            const { rows } = await pool.query(
              `select count(*)::int as n from "${schema}".deferred_queue_entries where status in ('pending','replaying')`,
            );
            return rows[0].n === 0;
          }, 10_000);

          // Restart on the same schema: every 201 link is still there.
          await pa.close();
          pa = undefined;
          pa = await startPaymentApp({ databaseUrl, schema, sims, port, breakerOverrides: overrides });
          const created = outcomes.filter((o) => o.status === 201);
          for (const o of created) {
            const got = await request(pa.url).get(`/payment-links/${o.id}`).expect(200);
            expect(got.body).toMatchObject({ id: o.id, gateway: o.gateway, url: o.url, status: 'pending' });
          }

          // Every 201 link payable at its gateway only.
          for (const o of created) {
            const tXid =
              o.gateway === 'nicepay'
                ? (new URL(o.url as string).searchParams.get('tXid') ?? undefined)
                : undefined;
            const amount = Number((await request(pa.url).get(`/payment-links/${o.id}`)).body.amount);
            const payable: GatewayName[] = [];
            for (const gateway of GATEWAYS) {
              if (
                await inspect.payable(gateway, o.id as string, gateway === 'nicepay' ? { tXid, amount } : {})
              )
                payable.push(gateway);
            }
            expect({ id: o.id, payable }).toEqual({ id: o.id, payable: [o.gateway] });
          }
          // Every 503 request left nothing payable anywhere.
          const failedOrders = outcomes.filter((o) => o.status === 503).map((o) => o.orderId);
          if (failedOrders.length > 0) {
            const { rows } = await pool.query<{ id: string; status: string }>(
              `select id, status from "${schema}".payment_links where order_id = any($1)`,
              [failedOrders],
            );
            expect(rows).toHaveLength(failedOrders.length);
            for (const row of rows) {
              expect(row.status).toBe('unavailable');
              for (const gateway of GATEWAYS)
                expect({
                  id: row.id,
                  gateway,
                  payable: await inspect.payable(gateway, row.id),
                }).toMatchObject({ payable: false });
            }
          }
        } finally {
          await pa?.close();
          await pool.end();
          await sims.faults.clear();
          await dropSchema(databaseUrl, schema);
        }
      }),
      { seed: 20261126, numRuns: 2, endOnFailure: true },
    );
  }, 120_000);
});
