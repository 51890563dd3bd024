import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { Pool } from 'pg';
import {
  startSimulators,
  type Simulators,
  EPHEMERAL_PORTS,
} from '../../downstream-simulators/src/simulators';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../../../test/support/postgres';
import {
  call,
  dispatchBody,
  OPERATOR_TOKEN,
  operator,
  startOrchestratorStub,
  waitFor,
} from './support/tpg-harness';

const MAIN = path.resolve(__dirname, '../../../dist/apps/taxi-partner-gateway/src/main.js');
const chaos = process.env.CHAOS_TEST === 'true' ? describe : describe.skip;

interface Alert {
  labels: Record<string, string>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Records Alertmanager-format posts (`POST /api/v2/alerts`, a JSON array). */
async function startAlertReceiver(): Promise<{ url: string; alerts: Alert[]; close(): Promise<void> }> {
  const alerts: Alert[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/api/v2/alerts') {
        alerts.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Alert[]));
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    alerts,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

chaos('Taxi Partner Gateway chaos (a real process, CHAOS_TEST=true)', () => {
  let sims: Simulators;
  let orchestrator: Awaited<ReturnType<typeof startOrchestratorStub>>;
  let receiver: Awaited<ReturnType<typeof startAlertReceiver>>;
  let child: ChildProcess | undefined;
  const schema = createTestSchemaName('tpg_chaos');
  let url = '';
  let env: NodeJS.ProcessEnv;

  async function startProcess(): Promise<void> {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, [MAIN], {
      env: { ...env, TPG_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitFor(
      'TPG ready',
      async () => {
        try {
          return (await fetch(`${url}/health/ready`)).status === 200;
        } catch {
          return false;
        }
      },
      20_000,
    );
  }

  async function kill(signal: NodeJS.Signals): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  }

  const state = async (name: string) =>
    (await call<Array<{ name: string; state: string }>>('GET', `${url}/breakers`)).body.find(
      (b) => b.name === name,
    )?.state;

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` before the chaos test`);
    sims = await startSimulators({
      ports: EPHEMERAL_PORTS,
    });
    orchestrator = await startOrchestratorStub();
    receiver = await startAlertReceiver();
    env = {
      PATH: process.env.PATH,
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      DATABASE_URL: testDatabaseUrl(),
      DATABASE_SCHEMA: schema,
      BBD_URL: sims.urls.bbd,
      ORDER_ORCHESTRATOR_URL: orchestrator.url,
      ALERT_WEBHOOK_URL: receiver.url,
      OPERATOR_API_TOKEN: OPERATOR_TOKEN,
      REPLAY_POLL_MS: '50',
      BREAKER_OVERRIDES: JSON.stringify({
        'bbd-dispatch': { callTimeoutMs: 300, timeoutMs: 500, failureThreshold: 3, intervalMs: 60_000 },
        'order-orchestrator-callbacks': { callTimeoutMs: 300, timeoutMs: 300 },
      }),
    };
    await startProcess();
  }, 40_000);

  afterAll(async () => {
    await kill('SIGTERM');
    await receiver?.close();
    await orchestrator?.close();
    await sims?.stop();
    await dropSchema(testDatabaseUrl(), schema);
  });

  it('BBD breaks: breaker opens, orders queue, the alert fires; BBD restored: everything recovers', async () => {
    expect((await call('POST', `${url}/dispatches`, dispatchBody('chaos'))).status).toBe(201);
    await sims.faults.set('bbd', { mode: 'error', status: 503 });
    const queued: Array<{ id: string; orderId: string; status: string }> = [];
    for (let i = 0; i < 8; i++)
      queued.push(
        (
          await call<{ id: string; orderId: string; status: string }>(
            'POST',
            `${url}/dispatches`,
            dispatchBody('chaos'),
          )
        ).body,
      );
    expect(queued.every((d) => d.status === 'queued')).toBe(true);
    expect(await state('bbd-dispatch')).not.toBe('closed');
    await waitFor('open alert', () =>
      receiver.alerts.some((a) => a.labels.breaker === 'bbd-dispatch' && a.labels.severity === 'warning'),
    );

    await sims.faults.clear('bbd');
    await waitFor(
      'queue drained',
      async () => {
        const all = await Promise.all(
          queued.map((d) => call<{ status: string }>('GET', `${url}/dispatches/${d.id}`)),
        );
        return all.every((r) => r.body.status === 'dispatched');
      },
      15_000,
    );
    expect(await state('bbd-dispatch')).toBe('closed');
    await waitFor('recovery alert', () =>
      receiver.alerts.some((a) => a.labels.breaker === 'bbd-dispatch' && a.labels.severity === 'info'),
    );
    for (const d of queued)
      expect(sims.bbdOrders().filter((o) => o.partnerOrderId === d.orderId)).toHaveLength(1);
  }, 40_000);

  it('SIGKILL with entries pending and calls in flight: nothing is lost after restart', async () => {
    await sims.faults.set('bbd', { mode: 'refuse' });
    const queued: Array<{ id: string; orderId: string; status: string }> = [];
    for (let i = 0; i < 5; i++)
      queued.push(
        (
          await call<{ id: string; orderId: string; status: string }>(
            'POST',
            `${url}/dispatches`,
            dispatchBody('kill'),
          )
        ).body,
      );
    expect(queued.every((d) => d.status === 'queued')).toBe(true);
    // Half-open probes now hang: requests die with the process mid-call (their rows are `pending`).
    await sims.faults.set('bbd', { mode: 'hang' });
    await waitFor('breaker admits again', async () => (await state('bbd-dispatch')) !== 'open');
    const inFlightBodies = [dispatchBody('inflight'), dispatchBody('inflight')];
    const inFlight = inFlightBodies.map((b) => call('POST', `${url}/dispatches`, b).catch(() => undefined));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await kill('SIGKILL');
    await Promise.all(inFlight);

    await sims.faults.clear('bbd');
    await startProcess();
    await waitFor(
      'every queued dispatch dispatched after restart',
      async () => {
        const all = await Promise.all(
          queued.map((d) => call<{ status: string }>('GET', `${url}/dispatches/${d.id}`)),
        );
        return all.every((r) => r.body.status === 'dispatched');
      },
      20_000,
    );
    for (const d of queued)
      expect(sims.bbdOrders().filter((o) => o.partnerOrderId === d.orderId)).toHaveLength(1);
    // The interrupted requests: a row that was written is queued by the reconciler and ends on BBD once.
    const pool = new Pool({ connectionString: testDatabaseUrl(), max: 1 });
    try {
      const { rows } = await pool.query<{ id: string; order_id: string }>(
        `select id, order_id from "${schema}".dispatches where order_id = any($1)`,
        [inFlightBodies.map((b) => b.orderId)],
      );
      expect(rows.length).toBeGreaterThan(0);
      await waitFor(
        'interrupted dispatches dispatched',
        async () => {
          const all = await Promise.all(
            rows.map((r) => call<{ status: string }>('GET', `${url}/dispatches/${r.id}`)),
          );
          return all.every((r) => r.body.status === 'dispatched');
        },
        20_000,
      );
      for (const b of inFlightBodies) {
        const written = rows.some((r) => r.order_id === b.orderId);
        expect(sims.bbdOrders().filter((o) => o.partnerOrderId === b.orderId)).toHaveLength(written ? 1 : 0);
      }
    } finally {
      await pool.end();
    }
    const pending = await call<{ items: unknown[] }>(
      'GET',
      `${url}/manual-dispatch?status=pending`,
      undefined,
      operator(),
    );
    expect(pending.body.items).toHaveLength(0);
  }, 60_000);
});
