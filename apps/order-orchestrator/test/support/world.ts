import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureServiceApp } from '@app/service-kit';
import {
  startSimulators,
  type Simulators,
  EPHEMERAL_PORTS,
} from '../../../downstream-simulators/src/simulators';
import { AppModule as PaymentProcessorModule } from '../../../payment-processor/src/app.module';
import { loadPaymentProcessorConfig } from '../../../payment-processor/src/config/payment-processor.config';
import { AppModule as SessionManagerModule } from '../../../session-manager/src/app.module';
import { loadSessionManagerConfig } from '../../../session-manager/src/config/session-manager.config';
import { AppModule as TpgModule } from '../../../taxi-partner-gateway/src/app.module';
import { loadTpgConfig } from '../../../taxi-partner-gateway/src/config/tpg.config';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../../../../test/support/postgres';
import { startRedisServer, type RedisServerHandle } from '../../../../test/support/redis';
import { AppModule } from '../../src/app.module';
import { loadOrderOrchestratorConfig } from '../../src/config/order-orchestrator.config';
import { FaultProxy } from './fault-proxy';

/** Small breakers so a suite never waits long: 2 failures open, 500 ms open, 1 probe closes. */
export const TEST_BREAKER = {
  callTimeoutMs: 300,
  timeoutMs: 500,
  failureThreshold: 2,
  failureRatioThreshold: 0,
  minRequests: 0,
  maxRequests: 1,
};

/** A clock that runs with real time and can be moved forward. */
export class TestClock {
  private offset = 0;
  readonly now = (): number => Date.now() + this.offset;
  advance(ms: number): void {
    this.offset += ms;
  }
}

/** The orchestrator with every real neighbour: simulators, session manager, TPG, payment processor, Redis, Postgres. */
export interface World {
  sims: Simulators;
  redis: RedisServerHandle;
  orchestrator: INestApplication;
  orchestratorUrl: string;
  /** Proxies between the orchestrator and each of our services (fault injection). */
  sessionManager: FaultProxy;
  paymentProcessor: FaultProxy;
  tpg: FaultProxy;
  /** Orchestrator clock (breakers, user cache, timestamps). */
  clock: TestClock;
  /** Session manager clock (session expiry). */
  sessionClock: TestClock;
  schema: string;
  stop(): Promise<void>;
}

async function listen(app: INestApplication, port = 0): Promise<string> {
  configureServiceApp(app);
  await app.listen(port, '127.0.0.1');
  return app.getUrl().then((url) => url.replace('[::1]', '127.0.0.1'));
}

export async function startWorld(): Promise<World> {
  const cleanups: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    return await buildWorld(cleanups, stopAll);
  } catch (err: unknown) {
    await stopAll();
    throw err;
  }
}

async function buildWorld(
  cleanups: Array<() => Promise<void>>,
  stopAll: () => Promise<void>,
): Promise<World> {
  const databaseUrl = testDatabaseUrl();
  const sims = await startSimulators({
    ports: EPHEMERAL_PORTS,
  });
  cleanups.push(() => sims.stop());
  const redis = await startRedisServer();
  cleanups.push(() => redis.stop());
  const [sessionManager, paymentProcessor, tpg, orchestratorPort] = await Promise.all([
    FaultProxy.start(),
    FaultProxy.start(),
    FaultProxy.start(),
    FaultProxy.start(),
  ]);
  cleanups.push(() =>
    Promise.all([sessionManager.stop(), paymentProcessor.stop(), tpg.stop()]).then(() => undefined),
  );
  // Reserved for the orchestrator, which TPG calls back.
  await orchestratorPort.stop();
  const orchestratorUrl = `http://127.0.0.1:${orchestratorPort.port}`;
  const schemas = {
    orders: createTestSchemaName('orch_e2e_orders'),
    tpg: createTestSchemaName('orch_e2e_tpg'),
    payments: createTestSchemaName('orch_e2e_payments'),
  };
  cleanups.push(async () => {
    for (const schema of Object.values(schemas)) await dropSchema(databaseUrl, schema);
  });

  const sessionClock = new TestClock();
  const smConfig = loadSessionManagerConfig({
    GOOGLE_MAPS_URL: sims.urls['google-maps'],
    HERE_URL: sims.urls.here,
    SESSION_TTL_MS: '60000',
  });
  smConfig.clock = sessionClock.now;
  const sm = (
    await Test.createTestingModule({ imports: [SessionManagerModule.register(smConfig)] }).compile()
  ).createNestApplication({ bodyParser: false, logger: false });
  cleanups.push(() => sm.close());
  sessionManager.setTarget(await listen(sm));

  const ppConfig = loadPaymentProcessorConfig({
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schemas.payments,
    MIDTRANS_URL: sims.urls.midtrans,
    XENDIT_URL: sims.urls.xendit,
    NICEPAY_URL: sims.urls.nicepay,
  });
  const pp = (
    await Test.createTestingModule({ imports: [PaymentProcessorModule.register(ppConfig)] }).compile()
  ).createNestApplication({ bodyParser: false, logger: false });
  cleanups.push(() => pp.close());
  paymentProcessor.setTarget(await listen(pp));

  const tpgConfig = loadTpgConfig({
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schemas.tpg,
    BBD_URL: sims.urls.bbd,
    ORDER_ORCHESTRATOR_URL: orchestratorUrl,
    REPLAY_POLL_MS: '50',
    BREAKER_OVERRIDES: JSON.stringify({
      'bbd-dispatch': TEST_BREAKER,
      'order-orchestrator-callbacks': TEST_BREAKER,
    }),
  });
  const tpgApp = (
    await Test.createTestingModule({ imports: [TpgModule.register(tpgConfig)] }).compile()
  ).createNestApplication({
    bodyParser: false,
    logger: false,
  });
  cleanups.push(() => tpgApp.close());
  tpg.setTarget(await listen(tpgApp));

  const clock = new TestClock();
  const config = loadOrderOrchestratorConfig({
    USER_SERVICE_URL: sims.urls['user-service'],
    SESSION_MANAGER_URL: sessionManager.url,
    PAYMENT_PROCESSOR_URL: paymentProcessor.url,
    TPG_URL: tpg.url,
    REDIS_URL: redis.url,
    DATABASE_URL: databaseUrl,
    DATABASE_SCHEMA: schemas.orders,
    USER_CACHE_FRESH_TTL_MS: '1000',
    USER_CACHE_STALE_TTL_MS: '3600000',
    OUTBOX_POLL_MS: '50',
    BREAKER_OVERRIDES: JSON.stringify({
      'session-manager': TEST_BREAKER,
      'user-service': TEST_BREAKER,
      'payment-processor': TEST_BREAKER,
      taxipartnergateway: TEST_BREAKER,
    }),
  });
  config.clock = clock.now;
  const orchestrator = (
    await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile()
  ).createNestApplication({
    bodyParser: false,
    logger: false,
  });
  cleanups.push(() => orchestrator.close());
  await listen(orchestrator, orchestratorPort.port);

  return {
    sims,
    redis,
    orchestrator,
    orchestratorUrl,
    sessionManager,
    paymentProcessor,
    tpg,
    clock,
    sessionClock,
    schema: schemas.orders,
    stop: stopAll,
  };
}

/** Polls `check` every 25 ms until it holds (or throws after `timeoutMs`). */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
