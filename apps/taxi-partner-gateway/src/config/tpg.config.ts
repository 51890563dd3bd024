import type { Clock } from '@app/resilience';
import {
  EnvReader,
  readBreakerOverrides,
  readServiceEdgeConfig,
  type BreakerOverrides,
  type ServiceEdgeConfig,
} from '@app/service-kit';

/** Breaker name → partial breaker config, merged over the library defaults at start. */
export type { BreakerOverrides };

/** The gateway's typed configuration, read once at start. */
export interface TpgConfig {
  port: number;
  /** Postgres connection string; undefined → main.ts starts the embedded PGlite. */
  databaseUrl?: string;
  /** Schema holding every table of the gateway. */
  databaseSchema: string;
  bbdUrl: string;
  bbdApiKey: string;
  orderOrchestratorUrl: string;
  operatorApiToken: string;
  breakerOverrides: BreakerOverrides;
  /** Alertmanager-compatible webhook for breaker alerts; undefined → alerts are only logged. */
  alertWebhookUrl?: string;
  /** How often the replayers look for work (ms). */
  replayPollMs: number;
  /** Manual dispatch replayer: entries leased per batch and BBD calls in flight at once. */
  replayBatchSize: number;
  replayConcurrency: number;
  /** Benchmark-only switch: every breaker passes calls straight through. */
  breakersDisabled: boolean;
  /** CORS, shutdown drain and database bounds; undefined → the service-kit defaults. */
  edge?: ServiceEdgeConfig;
  /** Operator API rate limit per client address; undefined → 120 requests a minute. */
  operatorRateLimit?: { limit: number; ttlMs: number };
  /** Tests inject a clock; production uses Date.now. */
  clock?: Clock;
  /** Runs after the database pool closed at shutdown (main.ts stops the embedded Postgres here). */
  afterDatabaseClosed?: () => Promise<void>;
}

export const TPG_DEFAULTS = {
  port: 3003,
  databaseSchema: 'tpg',
  bbdUrl: 'http://127.0.0.1:4002',
  bbdApiKey: 'local-bbd-api-key',
  orderOrchestratorUrl: 'http://127.0.0.1:3000',
  operatorApiToken: 'local-operator-token',
  replayPollMs: 1000,
  replayBatchSize: 50,
  replayConcurrency: 8,
} as const;

/** Parses and validates the environment; throws EnvValidationError naming every bad variable. */
export function loadTpgConfig(env: Record<string, string | undefined>): TpgConfig {
  const read = new EnvReader(env);
  const config: TpgConfig = {
    port: read.port('TPG_PORT', TPG_DEFAULTS.port),
    databaseUrl: read.optionalUrl('DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseSchema: read.string('DATABASE_SCHEMA', TPG_DEFAULTS.databaseSchema),
    bbdUrl: read.url('BBD_URL', TPG_DEFAULTS.bbdUrl),
    bbdApiKey: read.secret('BBD_API_KEY', TPG_DEFAULTS.bbdApiKey),
    orderOrchestratorUrl: read.url('ORDER_ORCHESTRATOR_URL', TPG_DEFAULTS.orderOrchestratorUrl),
    operatorApiToken: read.secret('OPERATOR_API_TOKEN', TPG_DEFAULTS.operatorApiToken),
    breakerOverrides: readBreakerOverrides(read),
    alertWebhookUrl:
      read.optionalString('ALERT_WEBHOOK_URL') === undefined ? undefined : read.url('ALERT_WEBHOOK_URL'),
    replayPollMs: read.int('REPLAY_POLL_MS', TPG_DEFAULTS.replayPollMs, { min: 10, max: 600_000 }),
    replayBatchSize: read.int('REPLAY_BATCH_SIZE', TPG_DEFAULTS.replayBatchSize, { min: 1, max: 1000 }),
    replayConcurrency: read.int('REPLAY_CONCURRENCY', TPG_DEFAULTS.replayConcurrency, { min: 1, max: 64 }),
    breakersDisabled: read.oneOf('BREAKERS_DISABLED', ['true', 'false'], 'false') === 'true',
    edge: readServiceEdgeConfig(read),
    operatorRateLimit: {
      limit: read.int('OPERATOR_RATE_LIMIT', 120, { min: 1, max: 100_000 }),
      ttlMs: read.int('OPERATOR_RATE_LIMIT_WINDOW_MS', 60_000, { min: 100, max: 3_600_000 }),
    },
  };
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(config.databaseSchema)) {
    read.fail(`DATABASE_SCHEMA must be a lower-case identifier, got '${config.databaseSchema}'`);
  }
  if (
    read.production &&
    (config.operatorApiToken === '' || config.operatorApiToken === TPG_DEFAULTS.operatorApiToken)
  ) {
    read.fail('OPERATOR_API_TOKEN must be set to a non-default token when NODE_ENV=production');
  } else if (config.operatorApiToken !== '' && config.operatorApiToken.length < 8) {
    read.fail('OPERATOR_API_TOKEN must be at least 8 characters');
  }
  read.done();
  return config;
}
