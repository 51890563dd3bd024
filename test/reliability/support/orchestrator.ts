import type { INestApplication, LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureServiceApp, type ServiceEdgeConfig } from '@app/service-kit';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import type { Simulators } from '../../../apps/downstream-simulators/src/simulators';
import { AppModule as OrchestratorModule } from '../../../apps/order-orchestrator/src/app.module';
import { loadOrderOrchestratorConfig } from '../../../apps/order-orchestrator/src/config/order-orchestrator.config';
import { AppModule as SessionManagerModule } from '../../../apps/session-manager/src/app.module';
import { loadSessionManagerConfig } from '../../../apps/session-manager/src/config/session-manager.config';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../../support/postgres';
import { sendJson } from './load';
import { startEphemeralSimulators, tightEdge, type ServiceUnderTest } from './services';

/** Small breakers so nothing in a suite waits long. */
export const FAST_BREAKER = {
  callTimeoutMs: 1000,
  timeoutMs: 500,
  failureThreshold: 3,
  failureRatioThreshold: 0,
  minRequests: 0,
  maxRequests: 1,
};

/** One of our services played by a counting HTTP stub (TPG, payment processor). */
export interface NeighbourStub {
  url: string;
  /** Requests received, as `METHOD path`. */
  calls: string[];
  /** POST /dispatches per orderId (a resend is allowed: TPG answers the same dispatch). */
  dispatched: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A stand-in for TPG and the payment processor: POST /dispatches → 201 dispatched,
 * POST /payment-links → 201 link; everything else 404; each answer `latencyMs` late. Counts every request.
 */
export async function startNeighbourStub(options: { latencyMs?: number } = {}): Promise<NeighbourStub> {
  const calls: string[] = [];
  const dispatched = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      calls.push(`${req.method} ${req.url}`);
      setTimeout(answer, options.latencyMs ?? 0);
    });
    const answer = (): void => {
      let body: { orderId?: string } = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { orderId?: string };
      } catch {
        // An unparsable body is answered 404 below like any unknown request.
      }
      const json = (status: number, payload: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      };
      if (req.method === 'POST' && req.url === '/dispatches' && body.orderId) {
        dispatched.set(body.orderId, (dispatched.get(body.orderId) ?? 0) + 1);
        json(201, { id: `d-${body.orderId}`, orderId: body.orderId, status: 'dispatched', bbdOrderId: 'b' });
        return;
      }
      if (req.method === 'POST' && req.url === '/payment-links' && body.orderId) {
        json(201, {
          id: `l-${body.orderId}`,
          orderId: body.orderId,
          gateway: 'midtrans',
          url: `http://pay.example/${body.orderId}`,
          status: 'pending',
        });
        return;
      }
      json(404, { statusCode: 404, error: 'Not Found', message: 'stub' });
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    dispatched,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A running in-process app and its base URL. */
export interface RunningApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

async function listen(app: INestApplication): Promise<RunningApp> {
  // No SIGTERM handlers inside jest: the suites close the apps themselves.
  configureServiceApp(app, { shutdown: false });
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

/** The session manager in process; sessions in Redis when `redisUrl` is given, else in memory. */
export async function startSessionManagerApp(options: {
  sims: Simulators;
  redisUrl?: string;
  env?: Record<string, string>;
  logger?: LoggerService | false;
}): Promise<RunningApp> {
  const config = loadSessionManagerConfig({
    GOOGLE_MAPS_URL: options.sims.urls['google-maps'],
    HERE_URL: options.sims.urls.here,
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    BREAKER_OVERRIDES: JSON.stringify({ 'google-maps': FAST_BREAKER, 'here-maps': FAST_BREAKER }),
    ...options.env,
  });
  const module = await Test.createTestingModule({
    imports: [SessionManagerModule.register(config)],
  }).compile();
  return listen(module.createNestApplication({ bodyParser: false, logger: options.logger ?? false }));
}

export interface OrchestratorAppOptions {
  databaseUrl: string;
  schema: string;
  userServiceUrl: string;
  sessionManagerUrl: string;
  tpgUrl: string;
  paymentProcessorUrl: string;
  redisUrl?: string;
  replicaUrl?: string;
  edge?: ServiceEdgeConfig;
  env?: Record<string, string>;
  logger?: LoggerService | false;
}

/** The order orchestrator in process, configured through its own env parser. */
export async function startOrchestratorApp(options: OrchestratorAppOptions): Promise<RunningApp> {
  const config = loadOrderOrchestratorConfig({
    DATABASE_URL: options.databaseUrl,
    DATABASE_SCHEMA: options.schema,
    USER_SERVICE_URL: options.userServiceUrl,
    SESSION_MANAGER_URL: options.sessionManagerUrl,
    TPG_URL: options.tpgUrl,
    PAYMENT_PROCESSOR_URL: options.paymentProcessorUrl,
    OUTBOX_POLL_MS: '50',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...(options.replicaUrl ? { DATABASE_REPLICA_URL: options.replicaUrl } : {}),
    BREAKER_OVERRIDES: JSON.stringify({
      'session-manager': FAST_BREAKER,
      'user-service': FAST_BREAKER,
      'payment-processor': FAST_BREAKER,
      taxipartnergateway: FAST_BREAKER,
      'orders-replica': { callTimeoutMs: 500, timeoutMs: 300, failureThreshold: 2 },
    }),
    ...options.env,
  });
  if (options.edge) config.edge = options.edge;
  const module = await Test.createTestingModule({ imports: [OrchestratorModule.register(config)] }).compile();
  return listen(module.createNestApplication({ bodyParser: false, logger: options.logger ?? false }));
}

/** Creates a session (in-memory session manager) for `userId`; throws unless 201. */
export async function createSession(sessionManagerUrl: string, userId: string): Promise<string> {
  const answer = await sendJson('session', 'POST', `${sessionManagerUrl}/sessions`, {
    userId,
    pickup: { lat: -6.2, lng: 106.816 },
    dropoff: { lat: -6.25, lng: 106.85 },
  });
  if (answer.status !== 201)
    throw new Error(`POST /sessions → ${answer.status} ${JSON.stringify(answer.body)}`);
  return (answer.body as { id: string }).id;
}

/** A user the simulated user-service knows (every `u-…` id without `never`). */
export const KNOWN_USER = 'u-reliability-1';

/**
 * The orchestrator on `databaseUrl` (a proxy): real session manager (sessions in memory),
 * simulated user-service, TPG and the payment processor stubbed. Writes are `POST /orders`
 * (cash) with `Idempotency-Key: key`.
 */
export async function startOrchestratorUnderTest(
  databaseUrl: string,
  edge = tightEdge(),
): Promise<ServiceUnderTest> {
  const sims = await startEphemeralSimulators();
  const neighbours = await startNeighbourStub();
  const sm = await startSessionManagerApp({ sims });
  const schema = createTestSchemaName('orch_rel');
  const app = await startOrchestratorApp({
    databaseUrl,
    schema,
    userServiceUrl: sims.urls['user-service'],
    sessionManagerUrl: sm.url,
    tpgUrl: neighbours.url,
    paymentProcessorUrl: neighbours.url,
    edge,
  });
  const sessionId = await createSession(sm.url, KNOWN_USER);
  const pool = new Pool({ connectionString: testDatabaseUrl(), max: 2 });
  const body = { sessionId, userId: KNOWN_USER, paymentMethod: 'cash' };
  return {
    name: 'order-orchestrator',
    url: app.url,
    write: (key) => sendJson(key, 'POST', `${app.url}/orders`, body, { 'idempotency-key': key }),
    async rowsFor(keys) {
      const { rows } = await pool.query<{ key: string; n: string }>(
        `select idempotency_key as key, count(*) as n from "${schema}".orders
          where idempotency_key = any($1) group by idempotency_key`,
        [keys],
      );
      return new Map(rows.map((row) => [row.key, Number(row.n)]));
    },
    async unsettled(keys) {
      // Half-written: an order without its dispatch outbox entry; mid-flight: dispatch still pending.
      const { rows } = await pool.query<{ key: string }>(
        `select o.idempotency_key as key from "${schema}".orders o
          where o.idempotency_key = any($1)
            and (not exists (select 1 from "${schema}".deferred_queue_entries e
                              where e.queue = 'dispatch-outbox' and e.key = o.id)
                 or o.dispatch->>'status' = 'pending')`,
        [keys],
      );
      return rows.map((row) => row.key);
    },
    async close() {
      await app.close();
      await sm.close();
      await dropSchema(testDatabaseUrl(), schema);
      await pool.end();
      await neighbours.close();
      await sims.stop();
    },
  };
}
