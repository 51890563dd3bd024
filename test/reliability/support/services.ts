import { Pool } from 'pg';
import type { ServiceEdgeConfig } from '@app/service-kit';
import {
  EPHEMERAL_PORTS,
  startSimulators,
  type Simulators,
  type SimulatorSecrets,
} from '../../../apps/downstream-simulators/src/simulators';
import { freePort, startPaymentApp } from '../../../apps/payment-processor/test/support/payment-test-app';
import { startOrchestratorStub, startTpg } from '../../../apps/taxi-partner-gateway/test/support/tpg-harness';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../../support/postgres';
import { sendJson, type LoadOutcome } from './load';

/** Every simulator on an ephemeral port. */
export function startEphemeralSimulators(
  paymentWebhookBaseUrl?: string,
  secrets?: Partial<SimulatorSecrets>,
): Promise<Simulators> {
  return startSimulators({
    ports: EPHEMERAL_PORTS,
    ...(paymentWebhookBaseUrl ? { paymentWebhookBaseUrl } : {}),
    ...(secrets ? { secrets } : {}),
  });
}

/** Small database bounds so an outage shows within a second or two. */
export function tightEdge(): ServiceEdgeConfig {
  return {
    corsOrigins: [],
    shutdownDrainTimeoutMs: 5000,
    database: { connectionTimeoutMs: 500, queryTimeoutMs: 800 },
  };
}

/** A service under a reliability test: how to start it, write to it and count what it stored. */
export interface ServiceUnderTest {
  name: string;
  url: string;
  /** One idempotent write keyed by `key` (same key → same entity). */
  write(key: string): Promise<LoadOutcome>;
  /** Live rows stored for `key` (read directly, not through any proxy): exactly 1 each. */
  rowsFor(keys: string[]): Promise<Map<string, number>>;
  /** Keys whose entity is still mid-flight (e.g. a dispatch left `pending`). */
  unsettled(keys: string[]): Promise<string[]>;
  /** How many times each key created something downstream (must be at most once), when observable. */
  downstreamCreates?(): Map<string, number>;
  close(): Promise<void>;
}

const point = { lat: -6.2, lng: 106.816 };

/** TPG on `databaseUrl` (a proxy), BBD simulated, the orchestrator stubbed. */
export async function startTpgUnderTest(databaseUrl: string, edge = tightEdge()): Promise<ServiceUnderTest> {
  const sims = await startEphemeralSimulators();
  const orchestrator = await startOrchestratorStub();
  const tpg = await startTpg({
    bbdUrl: sims.urls.bbd,
    orderOrchestratorUrl: orchestrator.url,
    databaseUrl,
    edge,
  });
  const pool = new Pool({ connectionString: testDatabaseUrl(), max: 2 });
  return {
    name: 'taxi-partner-gateway',
    url: tpg.url,
    write: (key) =>
      sendJson(key, 'POST', `${tpg.url}/dispatches`, { orderId: key, pickup: point, dropoff: point }),
    async rowsFor(keys) {
      const { rows } = await pool.query<{ order_id: string; n: string }>(
        `select order_id, count(*) as n from "${tpg.schema}".dispatches where order_id = any($1) group by order_id`,
        [keys],
      );
      return new Map(rows.map((row) => [row.order_id, Number(row.n)]));
    },
    async unsettled(keys) {
      const { rows } = await pool.query<{ order_id: string }>(
        `select order_id from "${tpg.schema}".dispatches where order_id = any($1) and status = 'pending'`,
        [keys],
      );
      return rows.map((row) => row.order_id);
    },
    downstreamCreates() {
      const counts = new Map<string, number>();
      for (const order of sims.bbdOrders()) {
        counts.set(order.partnerOrderId, (counts.get(order.partnerOrderId) ?? 0) + 1);
      }
      return counts;
    },
    async close() {
      await tpg.close();
      await pool.end();
      await orchestrator.close();
      await sims.stop();
    },
  };
}

/** The payment processor on `databaseUrl` (a proxy), gateways simulated. */
export async function startPaymentUnderTest(
  databaseUrl: string,
  edge = tightEdge(),
): Promise<ServiceUnderTest> {
  const port = await freePort();
  const sims = await startEphemeralSimulators(`http://127.0.0.1:${port}`);
  const schema = createTestSchemaName('pp_rel');
  const app = await startPaymentApp({
    databaseUrl,
    schema,
    sims,
    port,
    edge,
    // A request cut off by the outage cannot release its key; it is taken over after the lease.
    idempotencyLeaseMs: 1500,
  });
  const pool = new Pool({ connectionString: testDatabaseUrl(), max: 2 });
  return {
    name: 'payment-processor',
    url: app.url,
    write: (key) =>
      sendJson(
        key,
        'POST',
        `${app.url}/payment-links`,
        {
          orderId: key,
          amount: 25_000,
          currency: 'IDR',
          customer: { name: 'Rina', email: 'rina@example.com' },
        },
        { 'idempotency-key': key },
      ),
    async rowsFor(keys) {
      const { rows } = await pool.query<{ order_id: string; n: string }>(
        // A retried key gets a fresh link row after a failed one; what must be unique is the live one.
        `select order_id, count(*) as n from "${schema}".payment_links
          where order_id = any($1) and status in ('creating', 'pending', 'paid') group by order_id`,
        [keys],
      );
      return new Map(rows.map((row) => [row.order_id, Number(row.n)]));
    },
    async unsettled(keys) {
      const { rows } = await pool.query<{ order_id: string }>(
        `select order_id from "${schema}".payment_links where order_id = any($1) and status = 'creating'`,
        [keys],
      );
      return rows.map((row) => row.order_id);
    },
    async close() {
      await app.close();
      await dropSchema(testDatabaseUrl(), schema);
      await pool.end();
      await sims.stop();
    },
  };
}
