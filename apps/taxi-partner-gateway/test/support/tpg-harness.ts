import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureServiceApp } from '@app/service-kit';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../../../../test/support/postgres';
import { AppModule } from '../../src/app.module';
import type { BreakerOverrides, TpgConfig } from '../../src/config/tpg.config';

/** Small breaker timings so no test waits long. */
export const FAST_BREAKERS: BreakerOverrides = {
  'bbd-dispatch': {
    callTimeoutMs: 300,
    timeoutMs: 400,
    failureThreshold: 3,
    minRequests: 5,
    intervalMs: 60_000,
  },
  'bbd-tracking': {
    callTimeoutMs: 300,
    timeoutMs: 400,
    failureThreshold: 3,
    minRequests: 5,
    intervalMs: 60_000,
  },
  'order-orchestrator-callbacks': {
    callTimeoutMs: 300,
    timeoutMs: 300,
    failureThreshold: 3,
    intervalMs: 60_000,
  },
};

export const OPERATOR_TOKEN = 'test-operator-token';

export interface RunningTpg {
  app: INestApplication;
  url: string;
  schema: string;
  /** Closes the app; drops the schema unless `keepSchema`. */
  close(options?: { keepSchema?: boolean }): Promise<void>;
}

/** Builds the real AppModule on a random schema of the test Postgres and listens on an ephemeral port. */
export async function startTpg(
  overrides: Partial<TpgConfig> & Pick<TpgConfig, 'bbdUrl' | 'orderOrchestratorUrl'>,
): Promise<RunningTpg> {
  const schema = overrides.databaseSchema ?? createTestSchemaName('tpg');
  const config: TpgConfig = {
    port: 0,
    databaseUrl: testDatabaseUrl(),
    databaseSchema: schema,
    bbdApiKey: 'test-bbd-key',
    operatorApiToken: OPERATOR_TOKEN,
    replayPollMs: 50,
    replayBatchSize: 20,
    replayConcurrency: 4,
    breakersDisabled: false,
    ...overrides,
    breakerOverrides: { ...FAST_BREAKERS, ...overrides.breakerOverrides },
  };
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: ['error'] });
  configureServiceApp(app);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    schema,
    async close(options = {}) {
      await app.close();
      if (!options.keepSchema) await dropSchema(testDatabaseUrl(), schema);
    },
  };
}

/** What the orchestrator stub received. */
export interface ReceivedEvent {
  orderId: string;
  dispatchId: string;
  status: string;
  vehicle?: { vehicleId: string; driverName?: string };
}

/**
 * The orchestrator's edge, played by a tiny HTTP server: records `POST /internal/dispatch-events`
 * bodies; `down = true` answers 503 (nothing recorded).
 */
export async function startOrchestratorStub(): Promise<{
  url: string;
  events: ReceivedEvent[];
  down: boolean;
  close(): Promise<void>;
}> {
  const state = { down: false };
  const events: ReceivedEvent[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/internal/dispatch-events') {
        res.writeHead(404).end();
        return;
      }
      if (state.down) {
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"statusCode":503}');
        return;
      }
      events.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedEvent);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    get down() {
      return state.down;
    },
    set down(value: boolean) {
      state.down = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Polls `check` every 25 ms until it returns true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export interface JsonResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
}

/** fetch + JSON for the tests. */
export async function call<T = Record<string, unknown>>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const res = await fetch(url, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T, headers: res.headers };
}

export function operator(): Record<string, string> {
  return { authorization: `Bearer ${OPERATOR_TOKEN}` };
}

let sequence = 0;
/** A dispatch request with a unique orderId. */
export function dispatchBody(prefix = 'ord'): {
  orderId: string;
  pickup: { lat: number; lng: number };
  dropoff: { lat: number; lng: number };
} {
  sequence += 1;
  return {
    orderId: `${prefix}-${process.pid}-${Date.now().toString(36)}-${sequence}`,
    pickup: { lat: -6.2, lng: 106.816 },
    dropoff: { lat: -6.25, lng: 106.85 },
  };
}
