import { createServer } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { Clock } from '@app/resilience';
import { configureServiceApp, type ServiceEdgeConfig } from '@app/service-kit';
import { AppModule } from '../../src/app.module';
import { OrphanExpiryOutbox } from '../../src/orphans/orphan-expiry.outbox';
import {
  loadPaymentProcessorConfig,
  type BreakerOverrides,
  type GatewayName,
  type PaymentProcessorConfig,
} from '../../src/config/payment-processor.config';
import {
  EPHEMERAL_PORTS,
  startSimulators,
  type Simulators,
} from '../../../downstream-simulators/src/simulators';

/** Short deadlines so no test waits long; thresholds high unless a test wants a breaker to open. */
export function testBreakerOverrides(extra: Partial<Record<string, object>> = {}): BreakerOverrides {
  const base = {
    callTimeoutMs: 150,
    timeoutMs: 300,
    failureThreshold: 1000,
    failureRatioThreshold: 1,
    minRequests: 1000,
  };
  return {
    'payment-midtrans': { ...base, ...extra['payment-midtrans'] },
    'payment-xendit': { ...base, ...extra['payment-xendit'] },
    'payment-nicepay': { ...base, ...extra['payment-nicepay'] },
  };
}

export interface PaymentAppOptions {
  databaseUrl: string;
  schema: string;
  sims: Simulators;
  port: number;
  /** Overrides of gateway URLs (e.g. a proxy in front of Midtrans). */
  urls?: Partial<Record<GatewayName, string>>;
  gateways?: GatewayName[];
  breakerOverrides?: BreakerOverrides;
  orphanGraceMs?: number;
  /** CORS, drain and database bounds (default: the service-kit defaults). */
  edge?: ServiceEdgeConfig;
  /** How long a request holds an Idempotency-Key (default 120 s). */
  idempotencyLeaseMs?: number;
  /** The app's clock (default Date.now): a test moves it to run a lease out. */
  clock?: Clock;
}

export interface PaymentApp {
  app: INestApplication;
  url: string;
  config: PaymentProcessorConfig;
  outbox: OrphanExpiryOutbox;
  close(): Promise<void>;
}

/** A free TCP port (so the simulators can be told where our webhooks are before we listen). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The real app, in-process, on real Postgres and the in-process simulators. */
export async function startPaymentApp(options: PaymentAppOptions): Promise<PaymentApp> {
  const config: PaymentProcessorConfig = {
    ...loadPaymentProcessorConfig({}),
    port: options.port,
    databaseUrl: options.databaseUrl,
    databaseSchema: options.schema,
    gateways: options.gateways ?? ['midtrans', 'xendit', 'nicepay'],
    midtrans: {
      url: options.urls?.midtrans ?? options.sims.urls.midtrans,
      serverKey: 'local-midtrans-server-key',
    },
    xendit: {
      url: options.urls?.xendit ?? options.sims.urls.xendit,
      secretKey: 'local-xendit-secret-key',
      callbackToken: 'local-xendit-callback-token',
    },
    nicepay: {
      url: options.urls?.nicepay ?? options.sims.urls.nicepay,
      merchantKey: 'local-nicepay-merchant-key',
      iMid: 'LOCALIMID01',
    },
    publicBaseUrl: `http://127.0.0.1:${options.port}`,
    breakerOverrides: options.breakerOverrides ?? testBreakerOverrides(),
    orphanGraceMs: options.orphanGraceMs ?? 0,
    orphanReplayIntervalMs: 50,
    ...(options.edge ? { edge: options.edge } : {}),
    ...(options.idempotencyLeaseMs ? { idempotencyLeaseMs: options.idempotencyLeaseMs } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  };
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: ['error'] });
  configureServiceApp(app);
  await app.listen(options.port, '127.0.0.1');
  return {
    app,
    url: `http://127.0.0.1:${options.port}`,
    config,
    outbox: app.get(OrphanExpiryOutbox),
    close: () => app.close(),
  };
}

/** The in-process simulators on ephemeral ports, then the app (its webhooks where the simulators send them). */
export async function startPaymentAppWithSimulators(
  options: Omit<PaymentAppOptions, 'sims' | 'port'>,
): Promise<{ sims: Simulators; pa: PaymentApp }> {
  const port = await freePort();
  const sims = await startSimulators({
    ports: EPHEMERAL_PORTS,
    paymentWebhookBaseUrl: `http://127.0.0.1:${port}`,
  });
  try {
    return { sims, pa: await startPaymentApp({ ...options, sims, port }) };
  } catch (err: unknown) {
    await sims.stop();
    throw err;
  }
}

/** Polls `check` every 20 ms until it returns true or `timeoutMs` passes. */
export async function eventually(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
