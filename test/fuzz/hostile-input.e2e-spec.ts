import fc from 'fast-check';
import { Pool } from 'pg';
import type { Simulators } from '../../apps/downstream-simulators/src/simulators';
import { DOWNSTREAMS } from '../../apps/downstream-simulators/src/simulators';
import {
  freePort,
  startPaymentApp,
  type PaymentApp,
} from '../../apps/payment-processor/test/support/payment-test-app';
import {
  OPERATOR_TOKEN,
  startOrchestratorStub,
  startTpg,
  type RunningTpg,
} from '../../apps/taxi-partner-gateway/test/support/tpg-harness';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../support/postgres';
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
 * Every endpoint of TPG, the payment processor and the simulators' control API, fed hostile input
 * by fast-check (fixed seeds, bounded runs): every answer is a 4xx JSON refusal in Nest's shape
 * naming what was wrong, never a 5xx; no simulated downstream receives a call; no row changes.
 * FUZZ_RUNS (default 40) sets the runs per endpoint and input family.
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = 20_261_126;
const tried: Record<string, number> = {};

const latLng: Shape = {
  lat: { kind: 'number', min: -90, max: 90 },
  lng: { kind: 'number', min: -180, max: 180 },
  address: { kind: 'string', maxLength: 500, optional: true },
};
const dispatchShape: Shape = {
  orderId: { kind: 'string', maxLength: 128, pattern: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/ },
  pickup: { kind: 'object', fields: latLng },
  dropoff: { kind: 'object', fields: latLng },
  passenger: {
    kind: 'object',
    optional: true,
    fields: {
      name: { kind: 'string', maxLength: 200 },
      phone: { kind: 'string', maxLength: 32, pattern: /^\+?[0-9 ()-]{4,32}$/ },
    },
  },
};
const validDispatch = {
  orderId: 'fuzz-order-1',
  pickup: { lat: -6.2, lng: 106.8 },
  dropoff: { lat: -6.25, lng: 106.85 },
  passenger: { name: 'Budi', phone: '+62 812 0000' },
};
const paymentShape: Shape = {
  orderId: { kind: 'string', maxLength: 100, pattern: /^[\w.~:-]+$/ },
  amount: { kind: 'number', min: 1, max: 999_999_999_999, integer: true },
  currency: { kind: 'enum', values: ['IDR'] },
  customer: {
    kind: 'object',
    fields: { name: { kind: 'string', maxLength: 200 }, email: { kind: 'string', maxLength: 254 } },
  },
  description: { kind: 'string', maxLength: 500, optional: true },
};
const validPayment = {
  orderId: 'fuzz-order-1',
  amount: 25_000,
  currency: 'IDR',
  customer: { name: 'Rina', email: 'rina@example.com' },
  description: 'ride',
};
const faultShape: Shape = {
  mode: { kind: 'enum', values: ['error', 'latency', 'hang', 'reset', 'refuse', 'flaky'] },
  status: { kind: 'number', min: 100, max: 599, integer: true, optional: true },
  latencyMs: { kind: 'number', min: 0, max: 600_000, integer: true, optional: true },
  failureRate: { kind: 'number', min: 0, max: 1, optional: true },
};

let sims: Simulators;
let tpg: RunningTpg;
let payments: PaymentApp;
let paymentSchema: string;
let orchestrator: Awaited<ReturnType<typeof startOrchestratorStub>>;
let pool: Pool;

async function rowCounts(schema: string): Promise<Record<string, number>> {
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

/** Fuzzes one body endpoint; counts the inputs under `name`. */
async function fuzzBody(
  name: string,
  url: string,
  method: string,
  valid: Record<string, unknown>,
  shape: Shape,
  headers: Record<string, string> = {},
  seedOffset = 0,
): Promise<void> {
  tried[name] =
    (tried[name] ?? 0) +
    (await fuzz(
      hostileBodies(valid, shape),
      async (input: HostileRequest) =>
        expectRefusal(
          name,
          input,
          await rawRequest(url, method, input.body, { ...headers, ...input.headers }),
        ),
      RUNS * 4,
      SEED + seedOffset,
    ));
}

async function fuzzIds(
  name: string,
  urlOf: (id: string) => string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
  keep: (id: string) => boolean = () => true,
): Promise<void> {
  tried[name] =
    (tried[name] ?? 0) +
    (await fuzz(
      hostileIds().filter(keep),
      async (id) =>
        expectRefusal(
          name,
          id,
          await rawRequest(
            urlOf(encodeURIComponent(id).replace(/\./g, '%2E')),
            method,
            body === undefined ? undefined : JSON.stringify(body),
            headers,
          ),
        ),
      RUNS,
      SEED + 7,
    ));
}

async function oversizedHeaders(name: string, url: string): Promise<void> {
  const answer = await rawRequest(url, 'GET', undefined, { 'x-padding': 'a'.repeat(40_000) });
  expect(answer.status).toBe(431);
  expectRefusal(name, 'x-padding: 40 kB', answer);
  tried[name] = (tried[name] ?? 0) + 1;
}

beforeAll(async () => {
  pool = new Pool({ connectionString: testDatabaseUrl(), max: 2 });
  const paymentPort = await freePort();
  sims = await startEphemeralSimulators(`http://127.0.0.1:${paymentPort}`);
  orchestrator = await startOrchestratorStub();
  tpg = await startTpg({
    bbdUrl: sims.urls.bbd,
    orderOrchestratorUrl: orchestrator.url,
    operatorRateLimit: { limit: 1_000_000, ttlMs: 60_000 },
  });
  paymentSchema = createTestSchemaName('pp_fuzz');
  payments = await startPaymentApp({
    databaseUrl: testDatabaseUrl(),
    schema: paymentSchema,
    sims,
    port: paymentPort,
  });
  sims.resetCalls();
}, 30_000);

afterAll(async () => {
  await payments?.close();
  await dropSchema(testDatabaseUrl(), paymentSchema);
  await tpg?.close();
  await orchestrator?.close();
  await sims?.stop();
  await pool?.end();
  console.log(`[fuzz] inputs tried per endpoint ${JSON.stringify(tried)}`);
});

describe('hostile input: every answer a 4xx naming the field, no downstream call, no state change', () => {
  it('taxi-partner-gateway', async () => {
    const before = await rowCounts(tpg.schema);
    const op = { authorization: `Bearer ${OPERATOR_TOKEN}` };
    await fuzzBody('TPG POST /dispatches', `${tpg.url}/dispatches`, 'POST', validDispatch, dispatchShape);
    await fuzzIds('TPG GET /dispatches/:id', (id) => `${tpg.url}/dispatches/${id}`, 'GET');
    await fuzzIds('TPG GET /dispatches/:id/tracking', (id) => `${tpg.url}/dispatches/${id}/tracking`, 'GET');
    tried['TPG GET /vehicles/vacant'] = await fuzz(
      fc.record(
        { lat: hostileQueryValues(), lng: hostileQueryValues(), radius: hostileQueryValues() },
        { requiredKeys: [] },
      ),
      async (query) => {
        const qs = new URLSearchParams(query as Record<string, string>).toString();
        expectRefusal(
          'vacant',
          query,
          await rawRequest(`${tpg.url}/vehicles/vacant?${qs}`, 'GET', undefined),
        );
      },
      RUNS * 2,
      SEED + 3,
    );
    tried['TPG GET /manual-dispatch'] = await fuzz(
      hostileQueryValues().filter((v) => v.trim() !== ''),
      async (status) =>
        expectRefusal(
          'list',
          status,
          await rawRequest(
            `${tpg.url}/manual-dispatch?status=${encodeURIComponent(status)}`,
            'GET',
            undefined,
            op,
          ),
        ),
      RUNS,
      SEED + 4,
    );
    const operatorShape: Shape = { operator: { kind: 'string', maxLength: 100 } };
    await fuzzBody(
      'TPG POST /manual-dispatch/:id/claim',
      `${tpg.url}/manual-dispatch/1/claim`,
      'POST',
      { operator: 'ana' },
      operatorShape,
      op,
      11,
    );
    await fuzzIds(
      'TPG POST /manual-dispatch/:id/claim',
      (id) => `${tpg.url}/manual-dispatch/${id}/claim`,
      'POST',
      { operator: 'ana' },
      op,
    );
    await fuzzBody(
      'TPG POST /manual-dispatch/:id/release',
      `${tpg.url}/manual-dispatch/1/release`,
      'POST',
      { operator: 'ana' },
      { operator: { kind: 'string', maxLength: 100, optional: true } },
      op,
      12,
    );
    await fuzzIds(
      'TPG POST /manual-dispatch/:id/release',
      (id) => `${tpg.url}/manual-dispatch/${id}/release`,
      'POST',
      {},
      op,
    );
    await fuzzBody(
      'TPG POST /manual-dispatch/:id/complete',
      `${tpg.url}/manual-dispatch/1/complete`,
      'POST',
      { vehicleId: 'B 1234 XY', driverName: 'Joko', operator: 'ana' },
      {
        vehicleId: { kind: 'string', maxLength: 64, pattern: /^[A-Za-z0-9][A-Za-z0-9 _.:-]{0,63}$/ },
        driverName: { kind: 'string', maxLength: 200, optional: true },
        operator: { kind: 'string', maxLength: 100, optional: true },
      },
      op,
      13,
    );
    await fuzzIds(
      'TPG GET /manual-dispatch/:id/events',
      (id) => `${tpg.url}/manual-dispatch/${id}/events`,
      'GET',
      undefined,
      op,
    );
    // Without the token, hostile or not, operators' endpoints answer 401 before reading anything.
    await fuzzIds(
      'TPG operator endpoints without token',
      (id) => `${tpg.url}/manual-dispatch/${id}/claim`,
      'POST',
      { operator: 'ana' },
    );
    await oversizedHeaders('TPG oversized headers', `${tpg.url}/dispatches/x`);

    expect(DOWNSTREAMS.map((name) => [name, sims.calls(name).total])).toEqual(
      DOWNSTREAMS.map((name) => [name, 0]),
    );
    expect(orchestrator.events).toEqual([]);
    expect(await rowCounts(tpg.schema)).toEqual(before);
  }, 120_000);

  it('payment-processor', async () => {
    const before = await rowCounts(paymentSchema);
    await fuzzBody(
      'PP POST /payment-links',
      `${payments.url}/payment-links`,
      'POST',
      validPayment,
      paymentShape,
    );
    tried['PP POST /payment-links Idempotency-Key'] = await fuzz(
      fc.oneof(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((k) => /[^\x21-\x7e]/.test(k)),
        fc.constant('k'.repeat(201)),
      ),
      async (key) => {
        // Header values must be latin-1 on the wire; anything else is what a hostile client can send.
        const wire = Buffer.from(key, 'utf8')
          .toString('latin1')
          .replace(/[\r\n]/g, ' ');
        const answer = await rawRequest(
          `${payments.url}/payment-links`,
          'POST',
          JSON.stringify(validPayment),
          { 'idempotency-key': wire },
        );
        expectRefusal('idempotency-key', key, answer);
      },
      RUNS,
      SEED + 21,
    );
    await fuzzIds('PP GET /payment-links/:id', (id) => `${payments.url}/payment-links/${id}`, 'GET');
    for (const gateway of ['midtrans', 'xendit', 'nicepay']) {
      await fuzzBody(
        `PP POST /webhooks/${gateway}`,
        `${payments.url}/webhooks/${gateway}`,
        'POST',
        {
          order_id: 'x',
          status_code: '200',
          gross_amount: '1.00',
          signature_key: 'f'.repeat(128),
          transaction_status: 'settlement',
        },
        {
          order_id: { kind: 'string', maxLength: 100 },
          status_code: { kind: 'string', maxLength: 10 },
          gross_amount: { kind: 'string', maxLength: 30 },
          signature_key: { kind: 'string', maxLength: 200 },
          transaction_status: { kind: 'string', maxLength: 30 },
        },
        { 'x-callback-token': 'wrong-token' },
        30,
      );
    }
    await fuzzIds('PP POST /webhooks/:gateway', (id) => `${payments.url}/webhooks/${id}`, 'POST', {});
    await oversizedHeaders('PP oversized headers', `${payments.url}/payment-links/x`);

    expect(DOWNSTREAMS.map((name) => [name, sims.calls(name).total])).toEqual(
      DOWNSTREAMS.map((name) => [name, 0]),
    );
    expect(await rowCounts(paymentSchema)).toEqual(before);
  }, 120_000);

  it('downstream simulators control API', async () => {
    await fuzzBody(
      'SIM PUT /faults/:downstream',
      `${sims.controlUrl}/faults/bbd`,
      'PUT',
      { mode: 'error', status: 503 },
      faultShape,
      {},
      40,
    );
    for (const [name, method] of [
      ['SIM PUT /faults/:downstream (name)', 'PUT'],
      ['SIM DELETE /faults/:downstream', 'DELETE'],
      ['SIM GET /calls/:downstream', 'GET'],
    ] as const) {
      await fuzzIds(
        name,
        (id) => `${sims.controlUrl}/${name.includes('calls') ? 'calls' : 'faults'}/${id}`,
        method,
        method === 'PUT' ? { mode: 'error' } : undefined,
        {},
        (id) => !/^\.{1,2}$/.test(id),
      );
      // (The simulators parse paths as WHATWG URLs, where `/calls/..` and `/calls/%2E%2E` are `/`.)
    }
    expect(sims.faults.list()).toEqual([]);
    expect(DOWNSTREAMS.map((name) => [name, sims.calls(name).total])).toEqual(
      DOWNSTREAMS.map((name) => [name, 0]),
    );
  }, 120_000);
});
