import type { Simulators } from '../../apps/downstream-simulators/src/simulators';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../support/postgres';
import { sendJson, waitUntil } from './support/load';
import {
  createSession,
  startNeighbourStub,
  startOrchestratorApp,
  startSessionManagerApp,
  type NeighbourStub,
  type RunningApp,
} from './support/orchestrator';
import { startEphemeralSimulators } from './support/services';
import { TcpFaultProxy, targetOf } from './support/tcp-fault-proxy';

/**
 * GET /orders?userId= reads from DATABASE_REPLICA_URL — here a TCP proxy in front of the same
 * Postgres — behind the `orders-replica` breaker (call deadline 500 ms, opens after 2 failures,
 * 300 ms open in this test). Replica refused or stalled → the same answer from the primary,
 * counted in order_history_reads_total{source="primary-fallback"}; back → replica again.
 */
let sims: Simulators;
let neighbours: NeighbourStub;
let sessionManager: RunningApp;
let orchestrator: RunningApp;
let proxy: TcpFaultProxy;
const schema = createTestSchemaName('orch_replica');
const USER = 'u-history-1';
/** X-Read-Source of every history answer seen, to compare with the metric. */
const seen: Record<string, number> = {};

async function reads(): Promise<Record<string, number>> {
  const text = await (await fetch(`${orchestrator.url}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const match of text.matchAll(/^order_history_reads_total\{source="([^"]+)"\} (\d+)/gm)) {
    counts[match[1]] = Number(match[2]);
  }
  return counts;
}

async function history(query = `userId=${USER}`) {
  const started = Date.now();
  const res = await fetch(`${orchestrator.url}/orders?${query}`);
  const source = res.headers.get('x-read-source');
  if (source) seen[source] = (seen[source] ?? 0) + 1;
  return {
    status: res.status,
    source: res.headers.get('x-read-source'),
    body: (await res.json()) as { orders?: Array<{ id: string }>; message?: string; fields?: string[] },
    elapsedMs: Date.now() - started,
  };
}

beforeAll(async () => {
  sims = await startEphemeralSimulators();
  neighbours = await startNeighbourStub();
  sessionManager = await startSessionManagerApp({ sims });
  proxy = await TcpFaultProxy.start(targetOf(testDatabaseUrl()));
  orchestrator = await startOrchestratorApp({
    databaseUrl: testDatabaseUrl(),
    schema,
    replicaUrl: proxy.rewrite(testDatabaseUrl()),
    userServiceUrl: sims.urls['user-service'],
    sessionManagerUrl: sessionManager.url,
    tpgUrl: neighbours.url,
    paymentProcessorUrl: neighbours.url,
  });
}, 30_000);

afterAll(async () => {
  await orchestrator?.close();
  await proxy?.close();
  await sessionManager?.close();
  await neighbours?.close();
  await sims?.stop();
  await dropSchema(testDatabaseUrl(), schema);
});

it('reads history from the replica, falls back to the primary when it is refused or stalled, counts both', async () => {
  const sessionId = await createSession(sessionManager.url, USER);
  const created: string[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await sendJson(`h-${i}`, 'POST', `${orchestrator.url}/orders`, {
      sessionId,
      userId: USER,
      paymentMethod: 'cash',
    });
    expect(res.status).toBe(201);
    created.push((res.body as { id: string }).id);
  }
  const newestFirst = [...created].reverse();

  // Healthy replica: newest first, bounded page, served by the replica.
  const healthy = await history();
  expect(healthy).toMatchObject({ status: 200, source: 'replica' });
  expect(healthy.body.orders?.map((o) => o.id)).toEqual(newestFirst);
  expect((await history(`userId=${USER}&limit=2`)).body.orders?.map((o) => o.id)).toEqual(
    newestFirst.slice(0, 2),
  );
  expect((await history('userId=u-nobody')).body.orders).toEqual([]);
  for (const bad of [
    '',
    'limit=5',
    `userId=${USER}&limit=101`,
    `userId=${USER}&limit=0x10`,
    `userId=${'u'.repeat(129)}`,
  ]) {
    const res = await history(bad);
    expect(res.status).toBe(400);
    expect(res.body.fields?.length).toBeGreaterThan(0);
  }
  const before = await reads();
  expect(before.replica).toBeGreaterThanOrEqual(3);

  // Refused: answered from the primary, same orders.
  await proxy.refuse();
  const refused = [];
  for (let i = 0; i < 4; i++) refused.push(await history());
  for (const res of refused) {
    expect(res).toMatchObject({ status: 200, source: 'primary-fallback' });
    expect(res.body.orders?.map((o) => o.id)).toEqual(newestFirst);
  }
  const breakers = (await (await fetch(`${orchestrator.url}/breakers`)).json()) as Array<{
    name: string;
    state: string;
  }>;
  expect(breakers.find((b) => b.name === 'orders-replica')?.state).toBe('open');

  // Back: the breaker half-opens after 300 ms and the replica serves again.
  await proxy.forward();
  const backMs = await waitUntil(
    'replica serving again',
    async () => (await history()).source === 'replica',
    5000,
  );

  // Stalled (accepts, forwards nothing): the 500 ms call deadline falls back to the primary.
  proxy.stall();
  const stalled = await history();
  expect(stalled).toMatchObject({ status: 200, source: 'primary-fallback' });
  expect(stalled.body.orders?.map((o) => o.id)).toEqual(newestFirst);
  expect(stalled.elapsedMs).toBeLessThan(3000);
  await proxy.forward();

  const after = await reads();
  expect(after['primary-fallback']).toBeGreaterThanOrEqual(5);
  expect(after).toEqual(seen);
  console.log(
    `[read-replica] ${JSON.stringify({ reads: after, refusedAnswers: refused.length, stalledFallbackMs: stalled.elapsedMs, replicaBackMs: backMs, losses: 0 })}`,
  );
}, 30_000);
