import type { Clock } from '@app/resilience';
import {
  EnvReader,
  readBreakerOverrides,
  readServiceEdgeConfig,
  type BreakerOverrides,
  type ServiceEdgeConfig,
} from '@app/service-kit';

/** Fare table, IDR (integers): flag fall + distance + time, never below the minimum. */
export interface Tariff {
  flagFallIdr: number;
  perKmIdr: number;
  perMinuteIdr: number;
  minimumFareIdr: number;
}

/** The straight-line estimate used when no provider and no cached route can answer. */
export interface EstimateSettings {
  /** Road distance ÷ great-circle distance. */
  detourFactor: number;
  averageSpeedKph: number;
}

export type { BreakerOverrides };

/** Typed configuration of the session manager, parsed once at start. */
export interface SessionManagerConfig {
  port: number;
  googleMapsUrl: string;
  googleMapsApiKey: string;
  hereUrl: string;
  hereApiKey: string;
  /** Unset → sessions and the route cache live in process. */
  redisUrl?: string;
  sessionTtlMs: number;
  /** How long a provider's route may stand in for the providers when both fail. */
  routeCacheTtlMs: number;
  tariff: Tariff;
  estimate: EstimateSettings;
  breakerOverrides: BreakerOverrides;
  alertWebhookUrl?: string;
  /** CORS and the SIGTERM drain (the database bounds are unused: no database here). */
  edge?: ServiceEdgeConfig;
  /** Tests move time through this; default Date.now. */
  clock?: Clock;
}

/** Parses the session manager's environment; throws EnvValidationError naming every bad variable. */
export function loadSessionManagerConfig(env: Record<string, string | undefined>): SessionManagerConfig {
  const read = new EnvReader(env);
  const config: SessionManagerConfig = {
    port: read.port('SESSION_MANAGER_PORT', 3001),
    googleMapsUrl: read.url('GOOGLE_MAPS_URL', 'http://127.0.0.1:4006'),
    googleMapsApiKey: read.string('GOOGLE_MAPS_API_KEY', 'local-google-maps-key'),
    hereUrl: read.url('HERE_URL', 'http://127.0.0.1:4007'),
    hereApiKey: read.string('HERE_API_KEY', 'local-here-key'),
    redisUrl: read.optionalUrl('REDIS_URL', ['redis:', 'rediss:']),
    sessionTtlMs: read.int('SESSION_TTL_MS', 30 * 60_000, { min: 1000 }),
    routeCacheTtlMs: read.int('ROUTE_CACHE_TTL_MS', 24 * 3_600_000, { min: 1 }),
    tariff: {
      flagFallIdr: read.int('TARIFF_FLAG_FALL_IDR', 7000, { min: 0 }),
      perKmIdr: read.int('TARIFF_PER_KM_IDR', 3500, { min: 0 }),
      perMinuteIdr: read.int('TARIFF_PER_MINUTE_IDR', 500, { min: 0 }),
      minimumFareIdr: read.int('TARIFF_MINIMUM_FARE_IDR', 12000, { min: 0 }),
    },
    estimate: {
      detourFactor: read.int('ESTIMATE_DETOUR_PERCENT', 140, { min: 100, max: 400 }) / 100,
      averageSpeedKph: read.int('ESTIMATE_AVERAGE_SPEED_KPH', 20, { min: 1, max: 200 }),
    },
    breakerOverrides: readBreakerOverrides(read),
    alertWebhookUrl: read.optionalUrl('ALERT_WEBHOOK_URL', ['http:', 'https:']),
    edge: readServiceEdgeConfig(read),
  };
  read.done();
  return config;
}
