import fc from 'fast-check';
import IORedis from 'ioredis';
import { Pool } from 'pg';
import type { Simulators } from '../../apps/downstream-simulators/src/simulators';
import { DOWNSTREAMS } from '../../apps/downstream-simulators/src/simulators';
import { DISPATCH_EVENT_STATUSES } from '../../apps/order-orchestrator/src/orders/order-status';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../support/postgres';
import { startRedisServer, type RedisServerHandle } from '../support/redis';
import {
  startNeighbourStub,
  startOrchestratorApp,
  startSessionManagerApp,
  type NeighbourStub,
  type RunningApp,
} from '../reliability/support/orchestrator';
import { startEphemeralSimulators } from '../reliability/support/services';
import {
  fuzz,
  hostileBodies,
  hostileIds,
  hostileQueryValues,
  isProperRefusal,
  rawRequest,
  type Answer,
  type HostileRequest,
  type Shape,
} from './support/hostile-input';

/**
 * The session manager and the order orchestrator fed hostile input (fast-check, fixed seeds,
 * FUZZ_RUNS runs per family, default 40): every answer a 4xx JSON refusal in Nest's shape naming
 * what was wrong, never a 5xx; no simulated downstream and none of our other services (a
 * counting stub plays the session manager, TPG and the payment processor for the orchestrator)
 * receives a call; no row, no Redis key changes.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = 20_261_127;
const tried: Record<string, number> = {};

const latLng: Shape = {
  lat: { kind: 'number', min: -90, max: 90 },
  lng: { kind: 'number', min: -180, max: 180 },
};
const sessionShape: Shape = {
  userId: { kind: 'string', maxLength: 128 },
  pickup: { kind: 'object', fields: latLng },
  dropoff: { kind: 'object', fields: latLng },
};
const validSession = {
  userId: 'u-fuzz-1',
  pickup: { lat: -6.2, lng: 106.8 },
  dropoff: { lat: -6.25, lng: 106.85 },
};
const orderShape: Shape = {
  sessionId: { kind: 'string', maxLength: 128 },
  userId: { kind: 'string', maxLength: 128 },
  paymentMethod: { kind: 'enum', values: ['online', 'cash'] },
};
const validOrder = {
  sessionId: '00000000-0000-0000-0000-000000000000',
  userId: 'u-fuzz-1',
  paymentMethod: 'cash',
};
const eventShape: Shape = {
  orderId: { kind: 'string', maxLength: 128 },
  dispatchId: { kind: 'string', maxLength: 128 },
  status: { kind: 'enum', values: DISPATCH_EVENT_STATUSES },
  vehicle: { kind: 'object', optional: true, fields: {} },
  sequence: { kind: 'number', min: 0, max: Number.MAX_SAFE_INTEGER, integer: true, optional: true },
};
// An unknown order: a body that passes validation is answered 404 and changes nothing.
const validEvent = {
  orderId: 'fuzz-unknown-order',
  dispatchId: 'd-1',
  status: DISPATCH_EVENT_STATUSES[0],
  vehicle: { vehicleId: 'B 1' },
  sequence: 1,
};

let sims: Simulators;
let redis: RedisServerHandle;
let redisClient: IORedis;
let neighbours: NeighbourStub;
let sessionManager: RunningApp;
let orchestrator: RunningApp;
let pool: Pool;
const schema = createTestSchemaName('orch_fuzz');

async function rowCounts(): Promise<Record<string, number>> {
  const { rows } = await pool.query<{ table_name: string }>(
    `select table_name from information_schema.tables where table_schema = $1 and table_name not like 'kysely_%'`,
    [schema],
  );
  const counts: Record<string, number> = {};
  for (const { table_name } of rows) {
    const result = await pool.query<{ n: string }>(`select count(*) as n from "${schema}"."${table_name}"`);
    counts[table_name] = Number(result.rows[0].n);
  }
  return counts;
}

function expectRefusal(what: string, input: unknown, answer: Answer): void {
  if (!isProperRefusal(answer)) {
    throw new Error(
      `${what}: improper answer ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)} to ${JSON.stringify(input).slice(0, 300)}`,
    );
  }
}

async function fuzzBody(
  name: string,
  url: string,
  valid: Record<string, unknown>,
  shape: Shape,
  seedOffset: number,
): Promise<void> {
  tried[name] =
    (tried[name] ?? 0) +
    (await fuzz(
      hostileBodies(valid, shape),
      async (input: HostileRequest) =>
        expectRefusal(name, input, await rawRequest(url, 'POST', input.body, input.headers)),
      RUNS * 4,
      SEED + seedOffset,
    ));
}

async function fuzzIds(
  name: string,
  urlOf: (id: string) => string,
  method: string,
  seedOffset: number,
): Promise<void> {
  tried[name] =
    (tried[name] ?? 0) +
    (await fuzz(
      hostileIds(),
      async (id) =>
        expectRefusal(
          name,
          id,
          await rawRequest(urlOf(encodeURIComponent(id).replace(/\./g, '%2E')), method, undefined),
        ),
      RUNS,
      SEED + seedOffset,
    ));
}

async function fuzzQuery(
  name: string,
  url: string,
  arbitrary: fc.Arbitrary<Record<string, string>>,
  seedOffset: number,
): Promise<void> {
  tried[name] =
    (tried[name] ?? 0) +
    (await fuzz(
      arbitrary,
      async (query) =>
        expectRefusal(
          name,
          query,
          await rawRequest(`${url}?${new URLSearchParams(query).toString()}`, 'GET', undefined),
        ),
      RUNS,
      SEED + seedOffset,
    ));
}

function expectNoCallsAnywhere(): void {
  expect(DOWNSTREAMS.map((name) => [name, sims.calls(name).total])).toEqual(
    DOWNSTREAMS.map((name) => [name, 0]),
  );
  expect(neighbours.calls).toEqual([]);
}

beforeAll(async () => {
  pool = new Pool({ connectionString: testDatabaseUrl(), max: 2 });
  sims = await startEphemeralSimulators();
  redis = await startRedisServer();
  redisClient = new IORedis(redis.url, { maxRetriesPerRequest: 1 });
  redisClient.on('error', () => undefined);
  neighbours = await startNeighbourStub();
  sessionManager = await startSessionManagerApp({ sims, redisUrl: redis.url });
  orchestrator = await startOrchestratorApp({
    databaseUrl: testDatabaseUrl(),
    schema,
    userServiceUrl: sims.urls['user-service'],
    sessionManagerUrl: neighbours.url,
    tpgUrl: neighbours.url,
    paymentProcessorUrl: neighbours.url,
    redisUrl: redis.url,
  });
  sims.resetCalls();
}, 30_000);

afterAll(async () => {
  await orchestrator?.close();
  await sessionManager?.close();
  await neighbours?.close();
  redisClient?.disconnect();
  await redis?.stop();
  await sims?.stop();
  await dropSchema(testDatabaseUrl(), schema);
  await pool?.end();
  console.log(`[fuzz] inputs tried per endpoint ${JSON.stringify(tried)}`);
});

describe('hostile input: every answer a 4xx naming the field, no downstream call, no state change', () => {
  it('session-manager', async () => {
    const keysBefore = await redisClient.dbsize();
    await fuzzBody('SM POST /sessions', `${sessionManager.url}/sessions`, validSession, sessionShape, 1);
    await fuzzIds('SM GET /sessions/:id', (id) => `${sessionManager.url}/sessions/${id}`, 'GET', 2);
    const big = await rawRequest(`${sessionManager.url}/sessions/x`, 'GET', undefined, {
      'x-padding': 'a'.repeat(40_000),
    });
    expect(big.status).toBe(431);
    expectRefusal('SM oversized headers', 'x-padding', big);
    tried['SM oversized headers'] = 1;
    expectNoCallsAnywhere();
    expect(await redisClient.dbsize()).toBe(keysBefore);
  }, 50_000);

  it('order-orchestrator', async () => {
    const before = await rowCounts();
    const keysBefore = await redisClient.dbsize();
    await fuzzBody('OO POST /orders', `${orchestrator.url}/orders`, validOrder, orderShape, 3);
    tried['OO POST /orders Idempotency-Key'] = await fuzz(
      fc.oneof(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((k) => /[^\x21-\x7e]/.test(k)),
        fc.constant('k'.repeat(201)),
      ),
      async (key) => {
        const wire = Buffer.from(key, 'utf8')
          .toString('latin1')
          .replace(/[\r\n]/g, ' ');
        expectRefusal(
          'idempotency-key',
          key,
          await rawRequest(`${orchestrator.url}/orders`, 'POST', JSON.stringify(validOrder), {
            'idempotency-key': wire,
          }),
        );
      },
      RUNS,
      SEED + 4,
    );
    await fuzzIds('OO GET /orders/:id', (id) => `${orchestrator.url}/orders/${id}`, 'GET', 5);
    await fuzzIds(
      'OO POST /orders/:id/payment-link',
      (id) => `${orchestrator.url}/orders/${id}/payment-link`,
      'POST',
      6,
    );
    const validUserId = /^[\x21-\x7e]{1,128}$/;
    const validLimit = /^(?:[1-9][0-9]?|100)$/;
    await fuzzQuery(
      'OO GET /orders?userId=',
      `${orchestrator.url}/orders`,
      fc.oneof(
        // A bad userId (or none), with or without a limit.
        fc.record(
          { userId: hostileQueryValues().filter((v) => !validUserId.test(v)), limit: fc.constantFrom('10') },
          { requiredKeys: [] },
        ),
        fc.constant({ userId: 'u'.repeat(129) }),
        // A good userId with a bad limit.
        fc.record({
          userId: fc.constant('u-fuzz-1'),
          limit: hostileQueryValues().filter((v) => !validLimit.test(v)),
        }),
        // Unknown parameters.
        fc.record({
          userId: fc.constant('u-fuzz-1'),
          [`x`]: hostileQueryValues(),
        }),
      ),
      7,
    );
    await fuzzBody(
      'OO POST /internal/dispatch-events',
      `${orchestrator.url}/internal/dispatch-events`,
      validEvent,
      eventShape,
      8,
    );
    const big = await rawRequest(`${orchestrator.url}/orders/x`, 'GET', undefined, {
      'x-padding': 'a'.repeat(40_000),
    });
    expect(big.status).toBe(431);
    expectRefusal('OO oversized headers', 'x-padding', big);
    tried['OO oversized headers'] = 1;
    expectNoCallsAnywhere();
    expect(await rowCounts()).toEqual(before);
    expect(await redisClient.dbsize()).toBe(keysBefore);
  }, 50_000);
});
