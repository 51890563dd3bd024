import type { Clock } from '@app/resilience';
import {
  EnvReader,
  readBreakerOverrides,
  readServiceEdgeConfig,
  type BreakerOverrides,
  type ServiceEdgeConfig,
} from '@app/service-kit';

/** The gateways this service can use, by the names `PAYMENT_GATEWAYS` takes. */
export const GATEWAY_NAMES = ['midtrans', 'xendit', 'nicepay'] as const;
export type GatewayName = (typeof GATEWAY_NAMES)[number];

/** Breaker name of each gateway (fixed by the contract). */
export const GATEWAY_BREAKERS: Readonly<Record<GatewayName, string>> = {
  midtrans: 'payment-midtrans',
  xendit: 'payment-xendit',
  nicepay: 'payment-nicepay',
};

export type { BreakerOverrides };

export interface PaymentProcessorConfig {
  port: number;
  /** Unset → main.ts starts the embedded Postgres. */
  databaseUrl?: string;
  databaseSchema: string;
  /** Order in which gateways are tried. */
  gateways: GatewayName[];
  midtrans: { url: string; serverKey: string };
  xendit: { url: string; secretKey: string; callbackToken: string };
  nicepay: { url: string; merchantKey: string; iMid: string };
  /** Where gateways send customers back and notifications to (our own address). */
  publicBaseUrl: string;
  breakerOverrides: BreakerOverrides;
  alertWebhookUrl?: string;
  /**
   * How long an orphan expiry keeps retrying while the gateway says the reference is absent: a
   * create request that timed out may still land after our first expiry attempt.
   */
  orphanGraceMs: number;
  /** Pause of the orphan-expiry replayer between sweeps. */
  orphanReplayIntervalMs: number;
  /** How long a request may hold an Idempotency-Key before another request may take it over. */
  idempotencyLeaseMs: number;
  /** CORS, shutdown drain and database bounds; undefined → the service-kit defaults. */
  edge?: ServiceEdgeConfig;
  /** Tests inject a clock; default Date.now. */
  clock?: Clock;
  /** Runs after the database pool closed (main.ts stops the embedded Postgres). */
  afterDatabaseClosed?: () => Promise<void>;
}

/** Parses and validates the environment; throws EnvValidationError naming every bad variable. */
export function loadPaymentProcessorConfig(env: Record<string, string | undefined>): PaymentProcessorConfig {
  const read = new EnvReader(env);
  const port = read.port('PAYMENT_PROCESSOR_PORT', 3002);
  const config: PaymentProcessorConfig = {
    port,
    databaseUrl: read.optionalUrl('DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseSchema: read.string('DATABASE_SCHEMA', 'payments'),
    gateways: read.list('PAYMENT_GATEWAYS', GATEWAY_NAMES, ['midtrans', 'xendit', 'nicepay']),
    midtrans: {
      url: read.url('MIDTRANS_URL', 'http://127.0.0.1:4003'),
      serverKey: read.secret('MIDTRANS_SERVER_KEY', 'local-midtrans-server-key'),
    },
    xendit: {
      url: read.url('XENDIT_URL', 'http://127.0.0.1:4004'),
      secretKey: read.secret('XENDIT_SECRET_KEY', 'local-xendit-secret-key'),
      callbackToken: read.secret('XENDIT_CALLBACK_TOKEN', 'local-xendit-callback-token'),
    },
    nicepay: {
      url: read.url('NICEPAY_URL', 'http://127.0.0.1:4005'),
      merchantKey: read.secret('NICEPAY_MERCHANT_KEY', 'local-nicepay-merchant-key'),
      iMid: read.secret('NICEPAY_IMID', 'LOCALIMID01'),
    },
    publicBaseUrl: read.url('PUBLIC_BASE_URL', `http://127.0.0.1:${port}`),
    breakerOverrides: readBreakerOverrides(read),
    alertWebhookUrl:
      read.optionalString('ALERT_WEBHOOK_URL') === undefined ? undefined : read.url('ALERT_WEBHOOK_URL'),
    orphanGraceMs: read.int('PAYMENT_ORPHAN_GRACE_MS', 15 * 60_000, { min: 0 }),
    orphanReplayIntervalMs: read.int('PAYMENT_ORPHAN_REPLAY_INTERVAL_MS', 5_000, { min: 10 }),
    idempotencyLeaseMs: read.int('PAYMENT_IDEMPOTENCY_LEASE_MS', 120_000, { min: 1_000 }),
    edge: readServiceEdgeConfig(read),
  };
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(config.databaseSchema)) {
    read.fail(`DATABASE_SCHEMA must be a lower-case identifier, got '${config.databaseSchema}'`);
  }
  read.done();
  return config;
}
