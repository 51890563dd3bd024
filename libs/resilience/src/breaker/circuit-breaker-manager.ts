import { Logger, type LoggerService } from '@nestjs/common';
import { Registry } from 'prom-client';
import { LoggingAlerter } from '../alerting/logging-alerter';
import type { Alerter } from '../alerting/alerter';
import { BreakerMetrics } from '../metrics/breaker-metrics';
import type { BreakerConfig, BreakerSnapshot, Clock, GuardedCall } from './breaker.types';
import { CircuitBreaker } from './circuit-breaker';
import { DEFAULT_BREAKER_CONFIGS } from './default-breaker-configs';

export interface CircuitBreakerManagerOptions {
  /** Where open/recovery alerts go; default: a LoggingAlerter on the manager's logger. */
  alerter?: Alerter;
  /** Nest logger; default: Nest `Logger('CircuitBreaker')`. */
  logger?: LoggerService;
  /** prom-client registry for the breaker metrics; default: a private Registry (`manager.registry`). */
  registry?: Registry;
  /** ms clock every breaker reads time through; default Date.now. */
  clock?: Clock;
  /**
   * Pass-through mode: breakers never reject and never count, but still apply callTimeoutMs and
   * fire the call's signal. Exists only for the cascade benchmark's unprotected baseline.
   */
  disabled?: boolean;
}

/** Creates and owns the process's breakers, one per downstream name. */
export class CircuitBreakerManager {
  readonly registry: Registry;
  readonly metrics: BreakerMetrics;
  readonly logger: LoggerService;
  readonly alerter: Alerter;
  readonly clock: Clock;
  readonly disabled: boolean;
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(options: CircuitBreakerManagerOptions = {}) {
    this.registry = options.registry ?? new Registry();
    this.metrics = BreakerMetrics.forRegistry(this.registry);
    this.logger = options.logger ?? new Logger('CircuitBreaker');
    this.alerter = options.alerter ?? new LoggingAlerter(this.logger as Logger);
    this.clock = options.clock ?? (() => Date.now());
    this.disabled = options.disabled === true;
  }

  /** The breaker named `config.name`, created from `config` on first use (same name → same breaker). */
  getOrCreate(config: BreakerConfig): CircuitBreaker {
    const existing = this.breakers.get(config?.name);
    if (existing !== undefined) return existing;
    const breaker = new CircuitBreaker(config, {
      clock: this.clock,
      logger: this.logger,
      alerter: this.alerter,
      disabled: this.disabled,
      metrics: (name, stateValue) => this.metrics.register(name, stateValue),
    });
    this.breakers.set(breaker.name, breaker);
    return breaker;
  }

  /** DEFAULT_BREAKER_CONFIGS[name] with `overrides` merged over it (name always `name`). */
  configFor(name: string, overrides: Partial<BreakerConfig> = {}): BreakerConfig {
    return { ...DEFAULT_BREAKER_CONFIGS[name], ...overrides, name };
  }

  get(name: string): CircuitBreaker | undefined {
    return this.breakers.get(name);
  }

  /** Runs `fn` through the breaker `name`; an unknown name runs `fn` unguarded. */
  execute<T>(name: string, fn: GuardedCall<T>): Promise<T> {
    const breaker = this.breakers.get(name);
    if (breaker !== undefined) return breaker.execute(fn);
    try {
      return Promise.resolve(fn(new AbortController().signal));
    } catch (err: unknown) {
      return Promise.reject(err);
    }
  }

  /** Snapshots of every breaker. */
  list(): BreakerSnapshot[] {
    return [...this.breakers.values()].map((b) => b.snapshot());
  }

  /** Stops every breaker's executor timers and metrics. */
  shutdown(): void {
    for (const breaker of this.breakers.values()) breaker.shutdown();
    this.breakers.clear();
  }
}
