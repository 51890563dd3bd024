import IORedis from 'ioredis';
import { Pool } from 'pg';
import type { Simulators } from '../../apps/downstream-simulators/src/simulators';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../support/postgres';
import { startRedisServer, type RedisServerHandle } from '../support/redis';
import { countByStatus, sendJson, startLoad, waitUntil, type LoadOutcome } from './support/load';
import {
  createSession,
  startNeighbourStub,
  startOrchestratorApp,
  startSessionManagerApp,
  type NeighbourStub,
  type RunningApp,
} from './support/orchestrator';
import { startEphemeralSimulators } from './support/services';

/**
 * Our own redis-server (never the shared 6379) SIGKILLed and restarted under load:
 * - the orchestrator keeps taking orders from its in-process user-cache tier (user-service is
 *   failing too during the outage, so tier 1 is the only source of users left);
 * - the session manager (sessions in that Redis) answers POST /sessions 503 + Retry-After,
 *   its /health/ready turns 503; nothing crashes (no unhandled error or rejection);
 * - both recover by themselves once Redis is back (sessions stored and readable again, the
 *   orchestrator's tier 2 written again), and every order answered 201 is stored exactly once.
 */
const USERS = Array.from({ length: 6 }, (_, i) => `u-redis-outage-${i}`);

let sims: Simulators;
let redis: RedisServerHandle;
let neighbours: NeighbourStub;
let smRedis: RunningApp;
let smMemory: RunningApp;
let orchestrator: RunningApp;
let pool: Pool;
const schema = createTestSchemaName('orch_redis');
const unhandled: string[] = [];
const onUnhandled = (err: unknown): void => {
  unhandled.push(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
};

async function status(url: string): Promise<number> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
}

async function metric(url: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => line.test(l))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

beforeAll(async () => {
  process.on('uncaughtException', onUnhandled);
  process.on('unhandledRejection', onUnhandled);
  sims = await startEphemeralSimulators();
  redis = await startRedisServer();
  neighbours = await startNeighbourStub();
  smRedis = await startSessionManagerApp({ sims, redisUrl: redis.url });
  smMemory = await startSessionManagerApp({ sims });
  orchestrator = await startOrchestratorApp({
    databaseUrl: testDatabaseUrl(),
    schema,
    userServiceUrl: sims.urls['user-service'],
    sessionManagerUrl: smMemory.url,
    tpgUrl: neighbours.url,
    paymentProcessorUrl: neighbours.url,
    redisUrl: redis.url,
    // Fresh for 200 ms only: during the outage the users are stale copies held in process.
    env: { USER_CACHE_FRESH_TTL_MS: '200', USER_CACHE_STALE_TTL_MS: '3600000' },
  });
  pool = new Pool({ connectionString: testDatabaseUrl(), max: 1 });
}, 30_000);

afterAll(async () => {
  await orchestrator?.close();
  await smMemory?.close();
  await smRedis?.close();
  await neighbours?.close();
  await redis?.stop();
  await sims?.stop();
  await dropSchema(testDatabaseUrl(), schema);
  await pool?.end();
  process.off('uncaughtException', onUnhandled);
  process.off('unhandledRejection', onUnhandled);
});

it('Redis killed and restarted under load: orders keep succeeding, sessions 503 + Retry-After, all recover', async () => {
  const sessionOf = new Map<string, string>();
  for (const user of USERS) sessionOf.set(user, await createSession(smMemory.url, user));
  const run = `ro-${Date.now().toString(36)}`;
  const orders = startLoad(3, (n) => {
    const user = USERS[n % USERS.length];
    return sendJson(
      `${run}-${n}`,
      'POST',
      `${orchestrator.url}/orders`,
      { sessionId: sessionOf.get(user), userId: user, paymentMethod: 'cash' },
      { 'idempotency-key': `${run}-${n}` },
    );
  });
  const sessions = startLoad(2, (n) =>
    sendJson(`s-${n}`, 'POST', `${smRedis.url}/sessions`, {
      userId: USERS[n % USERS.length],
      pickup: { lat: -6.2, lng: 106.816 },
      dropoff: { lat: -6.25, lng: 106.85 },
    }),
  );
  const ok = (load: { outcomes: LoadOutcome[] }): number =>
    load.outcomes.filter((o) => o.status < 300).length;
  let outage = { from: 0, to: 0 };
  let sessionReadyDownMs = 0;
  let recoveredMs = 0;
  let redisErrors = 0;
  try {
    // Every user seen (cached in both tiers) and sessions flowing before the crash.
    await waitUntil('warm-up', () => ok(orders) >= 3 * USERS.length && ok(sessions) >= 6, 15_000);
    await sims.faults.set('user-service', { mode: 'error', status: 503 });
    await redis.kill();
    outage = { from: Date.now(), to: 0 };
    sessionReadyDownMs = await waitUntil(
      'session manager unready',
      async () => (await status(`${smRedis.url}/health/ready`)) === 503,
      5000,
    );
    // Answers to requests started well inside the outage (they all end before the restart).
    const inside = (load: { outcomes: LoadOutcome[] }): number =>
      load.outcomes.filter((o) => o.startedAt > outage.from + 300).length;
    await waitUntil(
      'orders and sessions answered during the outage',
      () => inside(orders) >= 12 && inside(sessions) >= 8,
      15_000,
    );
    expect(await status(`${orchestrator.url}/health/ready`)).toBe(200);
    redisErrors = await metric(orchestrator.url, /^stale_cache_redis_errors_total\{cache="users"/);

    await redis.restart();
    await sims.faults.clear('user-service');
    outage.to = Date.now();
    recoveredMs = await waitUntil(
      'session manager ready again',
      async () => (await status(`${smRedis.url}/health/ready`)) === 200,
      10_000,
    );
    const sessionsOk = ok(sessions);
    await waitUntil('sessions created again', () => ok(sessions) >= sessionsOk + 6, 10_000);
    const ordersOk = ok(orders);
    await waitUntil('orders after recovery', () => ok(orders) >= ordersOk + 10, 10_000);
  } finally {
    await Promise.all([orders.stop(), sessions.stop()]);
    await sims.faults.clear();
  }

  // Orders: every one 201, none lost or doubled.
  expect(orders.outcomes.filter((o) => o.status !== 201).map((o) => [o.status, o.body])).toEqual([]);
  const during = (o: LoadOutcome): boolean =>
    o.startedAt > outage.from + 300 && o.startedAt + o.elapsedMs < outage.to;
  const ordersDuring = orders.outcomes.filter(during);
  expect(ordersDuring.length).toBeGreaterThanOrEqual(12);
  // Users came from the stale in-process copies (user-service failing, Redis gone).
  expect(ordersDuring.some((o) => (o.body as { user: { stale: boolean } }).user.stale)).toBe(true);
  expect(redisErrors).toBeGreaterThan(0);
  const keys = orders.outcomes.map((o) => o.key);
  const { rows } = await pool.query<{ key: string; n: string }>(
    `select idempotency_key as key, count(*) as n from "${schema}".orders where idempotency_key = any($1) group by 1`,
    [keys],
  );
  const stored = new Map(rows.map((r) => [r.key, Number(r.n)]));
  const orderLosses = keys.filter((key) => stored.get(key) !== 1);
  expect(orderLosses).toEqual([]);

  // Sessions: 201 or a clear 503 with Retry-After; during the outage only 503s.
  const badSessions = sessions.outcomes.filter(
    (o) => o.status !== 201 && !(o.status === 503 && o.retryAfter !== null),
  );
  expect(badSessions.map((o) => [o.status, o.error, o.body])).toEqual([]);
  const sessionsDuring = sessions.outcomes.filter(during);
  expect(sessionsDuring.length).toBeGreaterThanOrEqual(8);
  expect(sessionsDuring.every((o) => o.status === 503)).toBe(true);
  expect(sessionsDuring[0].body).toMatchObject({
    statusCode: 503,
    error: 'Service Unavailable',
    message: expect.stringMatching(/session store is unavailable/),
  });
  // Sessions created after the restart are stored and readable.
  const after = sessions.outcomes.filter((o) => o.status === 201 && o.startedAt > outage.to);
  expect(after.length).toBeGreaterThan(0);
  let sessionLosses = 0;
  for (const o of after) {
    const id = (o.body as { id: string }).id;
    if ((await status(`${smRedis.url}/sessions/${id}`)) !== 200) sessionLosses += 1;
  }
  expect(sessionLosses).toBe(0);

  // Both tiers back: the orchestrator writes users to Redis again.
  const client = new IORedis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    // Each poll places one more order (fresh TTL 200 ms, so the user is loaded and stored again):
    // the load may have ended before the orchestrator's client finished reconnecting.
    let extra = 0;
    await waitUntil(
      'orchestrator user cache in Redis again',
      async () => {
        const user = USERS[extra % USERS.length];
        await sendJson(`${run}-x${extra}`, 'POST', `${orchestrator.url}/orders`, {
          sessionId: sessionOf.get(user),
          userId: user,
          paymentMethod: 'cash',
        });
        extra += 1;
        return (await client.keys('order-orchestrator:*')).length > 0;
      },
      10_000,
    );
    expect((await client.keys('session-manager:session:*')).length).toBeGreaterThan(0);
  } finally {
    client.disconnect();
  }
  expect(unhandled).toEqual([]);
  expect(await status(`${orchestrator.url}/health/live`)).toBe(200);
  expect(await status(`${smRedis.url}/health/live`)).toBe(200);

  const all = [...orders.outcomes, ...sessions.outcomes];
  console.log(
    `[redis-outage] ${JSON.stringify({
      requests: all.length,
      orders: {
        requests: orders.outcomes.length,
        byStatus: countByStatus(orders.outcomes),
        duringOutage: ordersDuring.length,
        losses: orderLosses.length,
      },
      sessions: {
        requests: sessions.outcomes.length,
        byStatus: countByStatus(sessions.outcomes),
        duringOutage: sessionsDuring.length,
        losses: sessionLosses,
      },
      sessionReadyDownMs,
      recoveredMs,
      outageMs: outage.to - outage.from,
      orchestratorRedisErrors: redisErrors,
      unhandled: unhandled.length,
    })}`,
  );
}, 60_000);
