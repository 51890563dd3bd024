import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'pg';
import type { Simulators } from '../../apps/downstream-simulators/src/simulators';
import { freePort } from '../../apps/payment-processor/test/support/payment-test-app';
import { startOrchestratorStub } from '../../apps/taxi-partner-gateway/test/support/tpg-harness';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../support/postgres';
import { countByStatus, sendJson, startLoad, waitUntil, type LoadOutcome } from './support/load';
import {
  createSession,
  startNeighbourStub,
  startSessionManagerApp,
  type NeighbourStub,
  type RunningApp,
} from './support/orchestrator';
import { startEphemeralSimulators } from './support/services';

/**
 * The built TPG (dist/, `npm run build` first) as a real child process under write load, sent
 * SIGTERM twice and restarted each time: it stops accepting, finishes what is in flight (BBD
 * answers 150 ms late, so requests are in flight when the signal lands), stops its replayers and
 * closes its pool, exits 0 — and no request gets a 5xx; every orderId answered 2xx is stored once.
 * Clients retry refused connections (the port is closed while the process restarts).
 */
const MAIN = join(__dirname, '../../dist/apps/taxi-partner-gateway/src/main.js');
const RESTARTS = 2;

let sims: Simulators;
let orchestrator: Awaited<ReturnType<typeof startOrchestratorStub>>;
const schema = createTestSchemaName('tpg_sigterm');

function startChild(port: number): { child: ChildProcess; logs: string[] } {
  const logs: string[] = [];
  const child = spawn(process.execPath, [MAIN], {
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      TPG_PORT: String(port),
      DATABASE_URL: testDatabaseUrl(),
      DATABASE_SCHEMA: schema,
      BBD_URL: sims.urls.bbd,
      ORDER_ORCHESTRATOR_URL: orchestrator.url,
      OPERATOR_API_TOKEN: 'sigterm-test-operator-token',
      REPLAY_POLL_MS: '50',
      SHUTDOWN_DRAIN_TIMEOUT_MS: '5000',
      BREAKER_OVERRIDES: JSON.stringify({ 'bbd-dispatch': { callTimeoutMs: 2000, timeoutMs: 500 } }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
  return { child, logs };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function live(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/health/live`)).status === 200;
  } catch {
    return false;
  }
}

/** POST /dispatches, retrying a refused connection (restart in progress) until it gets an answer. */
async function dispatchWithRetry(
  url: string,
  orderId: string,
): Promise<LoadOutcome & { connectionRetries: number }> {
  const point = { lat: -6.2, lng: 106.816 };
  let connectionRetries = 0;
  for (;;) {
    const outcome = await sendJson(orderId, 'POST', `${url}/dispatches`, {
      orderId,
      pickup: point,
      dropoff: point,
    });
    if (outcome.status !== 0 || connectionRetries > 400) return { ...outcome, connectionRetries };
    connectionRetries += 1;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before this suite`);
  sims = await startEphemeralSimulators();
  orchestrator = await startOrchestratorStub();
  await sims.faults.set('bbd', { mode: 'latency', latencyMs: 150 });
});

afterAll(async () => {
  await orchestrator?.close();
  await sims?.stop();
  await dropSchema(testDatabaseUrl(), schema);
});

it('SIGTERM under load: drains, exits 0, restarts; no 5xx, nothing lost or doubled', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let current = startChild(port);
  await waitUntil('child listening', () => live(url), 20_000);
  const run = `sig-${Date.now().toString(36)}`;
  let connectionRetries = 0;
  const load = startLoad(6, async (n) => {
    const outcome = await dispatchWithRetry(url, `${run}-${n}`);
    connectionRetries += outcome.connectionRetries;
    return outcome;
  });
  const exits: Array<number | null> = [];
  try {
    for (let i = 0; i < RESTARTS; i++) {
      const seen = load.outcomes.length;
      await waitUntil('load flowing', () => load.outcomes.length >= seen + 12, 20_000);
      current.child.kill('SIGTERM');
      const code = await exited(current.child);
      exits.push(code);
      if (code !== 0) throw new Error(`child exited ${code}:\n${current.logs.join('')}`);
      expect(current.logs.join('')).toMatch(/SIGTERM: draining/);
      expect(current.logs.join('')).toMatch(/closed: workers stopped, pools closed/);
      current = startChild(port);
      await waitUntil('child listening again', () => live(url), 20_000);
    }
    const after = load.outcomes.length;
    await waitUntil('load after the last restart', () => load.outcomes.length >= after + 12, 20_000);
  } finally {
    await load.stop();
  }
  const outcomes = load.outcomes;
  try {
    expect(exits).toEqual(Array(RESTARTS).fill(0));
    // No 5xx and no request cut mid-way: every one got an answer (2xx here: BBD is up, only slow).
    expect(
      outcomes.filter((o) => o.status === 0 || o.status >= 500).map((o) => [o.key, o.status, o.error]),
    ).toEqual([]);
    expect(outcomes.every((o) => o.status === 201 || o.status === 202)).toBe(true);
    const pool = new Pool({ connectionString: testDatabaseUrl(), max: 1 });
    try {
      const keys = outcomes.map((o) => o.key);
      const { rows } = await pool.query<{ order_id: string; n: string }>(
        `select order_id, count(*) as n from "${schema}".dispatches where order_id = any($1) group by order_id`,
        [keys],
      );
      const stored = new Map(rows.map((row) => [row.order_id, Number(row.n)]));
      expect(keys.filter((key) => stored.get(key) !== 1)).toEqual([]);
      const bbd = new Map<string, number>();
      for (const order of sims.bbdOrders())
        bbd.set(order.partnerOrderId, (bbd.get(order.partnerOrderId) ?? 0) + 1);
      expect([...bbd.values()].filter((n) => n > 1)).toEqual([]);
    } finally {
      await pool.end();
    }
    console.log(
      `[graceful-shutdown] ${JSON.stringify({ restarts: RESTARTS, requests: outcomes.length, byStatus: countByStatus(outcomes), connectionRetries, exits, losses: 0 })}`,
    );
  } finally {
    current.child.kill('SIGTERM');
    await exited(current.child);
  }
}, 90_000);

/**
 * The built order orchestrator under the same treatment: POST /orders (each with its own
 * Idempotency-Key) while TPG answers 150 ms late; SIGTERM twice, restarted each time. No 5xx, no
 * cut request, exit 0, every key answered 201 stored exactly once with its dispatch recorded.
 */
describe('order-orchestrator', () => {
  const ORCH_MAIN = join(__dirname, '../../dist/apps/order-orchestrator/src/main.js');
  const orchSchema = createTestSchemaName('orch_sigterm');
  let neighbours: NeighbourStub;
  let sessionManager: RunningApp;

  beforeAll(async () => {
    if (!existsSync(ORCH_MAIN)) throw new Error(`${ORCH_MAIN} is missing: run \`npm run build\` first`);
    neighbours = await startNeighbourStub({ latencyMs: 150 });
    sessionManager = await startSessionManagerApp({ sims });
  });

  afterAll(async () => {
    await sessionManager?.close();
    await neighbours?.close();
    await dropSchema(testDatabaseUrl(), orchSchema);
  });

  function startOrchestrator(port: number): { child: ChildProcess; logs: string[] } {
    const logs: string[] = [];
    const child = spawn(process.execPath, [ORCH_MAIN], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'test',
        ORDER_ORCHESTRATOR_PORT: String(port),
        DATABASE_URL: testDatabaseUrl(),
        DATABASE_SCHEMA: orchSchema,
        USER_SERVICE_URL: sims.urls['user-service'],
        SESSION_MANAGER_URL: sessionManager.url,
        TPG_URL: neighbours.url,
        PAYMENT_PROCESSOR_URL: neighbours.url,
        OUTBOX_POLL_MS: '50',
        SHUTDOWN_DRAIN_TIMEOUT_MS: '5000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => logs.push(chunk.toString()));
    return { child, logs };
  }

  it('SIGTERM under load: drains, exits 0, restarts; no 5xx, nothing lost or doubled', async () => {
    const userId = 'u-sigterm-1';
    const sessionId = await createSession(sessionManager.url, userId);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let current = startOrchestrator(port);
    await waitUntil('orchestrator listening', () => live(url), 20_000);
    const run = `osig-${Date.now().toString(36)}`;
    let connectionRetries = 0;
    const load = startLoad(6, async (n) => {
      const key = `${run}-${n}`;
      for (let attempt = 0; ; attempt++) {
        const outcome = await sendJson(
          key,
          'POST',
          `${url}/orders`,
          { sessionId, userId, paymentMethod: 'cash' },
          { 'idempotency-key': key },
        );
        if (outcome.status !== 0 || attempt > 400) return outcome;
        connectionRetries += 1;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    });
    const exits: Array<number | null> = [];
    try {
      for (let i = 0; i < RESTARTS; i++) {
        const seen = load.outcomes.length;
        await waitUntil('load flowing', () => load.outcomes.length >= seen + 12, 20_000);
        current.child.kill('SIGTERM');
        const code = await exited(current.child);
        exits.push(code);
        if (code !== 0) throw new Error(`child exited ${code}:\n${current.logs.join('')}`);
        expect(current.logs.join('')).toMatch(/SIGTERM: draining/);
        expect(current.logs.join('')).toMatch(/closed: workers stopped, pools closed/);
        current = startOrchestrator(port);
        const restarted = current;
        await waitUntil('orchestrator listening again', () => live(url), 20_000).catch((err: unknown) => {
          throw new Error(`${String(err)}; exit ${restarted.child.exitCode}:\n${restarted.logs.join('')}`);
        });
      }
      const after = load.outcomes.length;
      await waitUntil('load after the last restart', () => load.outcomes.length >= after + 12, 20_000);
    } finally {
      await load.stop();
    }
    const outcomes = load.outcomes;
    try {
      expect(exits).toEqual(Array(RESTARTS).fill(0));
      expect(outcomes.filter((o) => o.status !== 201).map((o) => [o.key, o.status, o.error, o.body])).toEqual(
        [],
      );
      const pool = new Pool({ connectionString: testDatabaseUrl(), max: 1 });
      try {
        const keys = outcomes.map((o) => o.key);
        const { rows } = await pool.query<{ key: string; n: string }>(
          `select idempotency_key as key, count(*) as n from "${orchSchema}".orders where idempotency_key = any($1) group by 1`,
          [keys],
        );
        const stored = new Map(rows.map((row) => [row.key, Number(row.n)]));
        expect(keys.filter((key) => stored.get(key) !== 1)).toEqual([]);
        // Every order's dispatch reached TPG and is recorded (outboxes drained after the restarts).
        await waitUntil(
          'every dispatch recorded',
          async () =>
            (
              await pool.query(
                `select 1 from "${orchSchema}".orders where idempotency_key = any($1) and dispatch->>'status' = 'pending'`,
                [keys],
              )
            ).rowCount === 0,
          10_000,
        );
      } finally {
        await pool.end();
      }
      console.log(
        `[graceful-shutdown] ${JSON.stringify({ service: 'order-orchestrator', restarts: RESTARTS, requests: outcomes.length, byStatus: countByStatus(outcomes), connectionRetries, exits, losses: 0 })}`,
      );
    } finally {
      current.child.kill('SIGTERM');
      await exited(current.child);
    }
  }, 60_000);
});
