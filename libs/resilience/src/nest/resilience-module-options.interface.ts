import type { LoggerService } from '@nestjs/common';
import type { Registry } from 'prom-client';
import type { Alerter } from '../alerting/alerter';
import type { BreakerConfig, Clock } from '../breaker/breaker.types';

/** Options of `ResilienceModule.forRoot` / `forRootAsync`. */
export interface ResilienceModuleOptions {
  /**
   * Per-breaker overrides merged over DEFAULT_BREAKER_CONFIGS by `forFeature` / `configFor`
   * (e.g. parsed from BREAKER_OVERRIDES: `{"bbd-dispatch":{"timeoutMs":2000}}`).
   */
  breakerOverrides?: Record<string, Partial<BreakerConfig>>;
  /** Where open/recovery alerts go (e.g. a WebhookAlerter); default: log only. */
  alerter?: Alerter;
  /** The app's Prometheus registry; default: a private Registry (`manager.registry`). */
  registry?: Registry;
  /** ms clock for every breaker; default Date.now. */
  clock?: Clock;
  /** The app's logger; default: Nest `Logger('CircuitBreaker')`. */
  logger?: LoggerService;
  /** Pass-through breakers that never reject (cascade benchmark baseline only). */
  disabled?: boolean;
}
