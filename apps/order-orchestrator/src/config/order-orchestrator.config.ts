import type { Clock } from '@app/resilience';
import {
  EnvReader,
  readBreakerOverrides,
  readServiceEdgeConfig,
  type BreakerOverrides,
  type ServiceEdgeConfig,
} from '@app/service-kit';

export type { BreakerOverrides };

/** Typed configuration of the order orchestrator, parsed once at start. */
export interface OrderOrchestratorConfig {
  port: number;
  userServiceUrl: string;
  sessionManagerUrl: string;
  paymentProcessorUrl: string;
  tpgUrl: string;
  /** Tier 2 of the user cache; unset → tier 1 (in process) only. */
  redisUrl?: string;
  userCacheFreshTtlMs: number;
  userCacheStaleTtlMs: number;
  /** Unset → main.ts starts the embedded Postgres. */
  databaseUrl?: string;
  databaseSchema: string;
  /**
   * Read replica for order history (GET /orders?userId=), behind the `orders-replica` breaker;
   * unset → history is read from the primary.
   */
  databaseReplicaUrl?: string;
  /** How often the outbox replayers look for work while their breaker lets them. */
  outboxPollMs: number;
  breakerOverrides: BreakerOverrides;
  alertWebhookUrl?: string;
  /** CORS, SIGTERM drain and database bounds; undefined → the same defaults readServiceEdgeConfig gives. */
  edge?: ServiceEdgeConfig;
  /** Tests move time through this; default Date.now. */
  clock?: Clock;
}

/** Parses the orchestrator's environment; throws EnvValidationError naming every bad variable. */
export function loadOrderOrchestratorConfig(
  env: Record<string, string | undefined>,
): OrderOrchestratorConfig {
  const read = new EnvReader(env);
  const config: OrderOrchestratorConfig = {
    port: read.port('ORDER_ORCHESTRATOR_PORT', 3000),
    userServiceUrl: read.url('USER_SERVICE_URL', 'http://127.0.0.1:4001'),
    sessionManagerUrl: read.url('SESSION_MANAGER_URL', 'http://127.0.0.1:3001'),
    paymentProcessorUrl: read.url('PAYMENT_PROCESSOR_URL', 'http://127.0.0.1:3002'),
    tpgUrl: read.url('TPG_URL', 'http://127.0.0.1:3003'),
    redisUrl: read.optionalUrl('REDIS_URL', ['redis:', 'rediss:']),
    userCacheFreshTtlMs: read.int('USER_CACHE_FRESH_TTL_MS', 300_000, { min: 0 }),
    userCacheStaleTtlMs: read.int('USER_CACHE_STALE_TTL_MS', 3_600_000, { min: 0 }),
    databaseUrl: read.optionalUrl('DATABASE_URL', ['postgres:', 'postgresql:']),
    databaseSchema: read.string('DATABASE_SCHEMA', 'orders'),
    databaseReplicaUrl: read.optionalUrl('DATABASE_REPLICA_URL', ['postgres:', 'postgresql:']),
    outboxPollMs: read.int('OUTBOX_POLL_MS', 1000, { min: 10, max: 600_000 }),
    breakerOverrides: readBreakerOverrides(read),
    alertWebhookUrl: read.optionalUrl('ALERT_WEBHOOK_URL', ['http:', 'https:']),
    edge: readServiceEdgeConfig(read),
  };
  if (config.userCacheStaleTtlMs < config.userCacheFreshTtlMs) {
    read.fail('USER_CACHE_STALE_TTL_MS must be ≥ USER_CACHE_FRESH_TTL_MS');
  }
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(config.databaseSchema)) {
    read.fail(`DATABASE_SCHEMA must be a lower-case identifier, got '${config.databaseSchema}'`);
  }
  read.done();
  return config;
}
