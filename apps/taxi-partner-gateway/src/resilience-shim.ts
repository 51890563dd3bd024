// TEMPORARY stand-in for ResilienceModule until libs/resilience/src/nest lands; same API surface used.
import { DynamicModule, Global, Module } from '@nestjs/common';
import { CircuitBreakerManager, type Alerter, type BreakerConfig, type Clock } from '@app/resilience';
import type { Registry } from 'prom-client';

const OVERRIDES = Symbol('SHIM_OVERRIDES');

export function getBreakerToken(name: string): string {
  return `CircuitBreaker:${name}`;
}

@Global()
@Module({})
export class ResilienceModule {
  static forRoot(options: {
    registry: Registry;
    clock?: Clock;
    breakerOverrides?: Record<string, Partial<BreakerConfig>>;
    alerter?: Alerter;
    disabled?: boolean;
  }): DynamicModule {
    return {
      module: ResilienceModule,
      global: true,
      providers: [
        {
          provide: CircuitBreakerManager,
          useFactory: () =>
            new CircuitBreakerManager({
              registry: options.registry,
              clock: options.clock,
              alerter: options.alerter,
              disabled: options.disabled,
            }),
        },
        { provide: OVERRIDES, useValue: options.breakerOverrides ?? {} },
      ],
      exports: [CircuitBreakerManager, OVERRIDES],
    };
  }

  static forFeature(names: string[]): DynamicModule {
    const providers = names.map((name) => ({
      provide: getBreakerToken(name),
      inject: [CircuitBreakerManager, OVERRIDES],
      useFactory: (manager: CircuitBreakerManager, overrides: Record<string, Partial<BreakerConfig>>) =>
        manager.getOrCreate(manager.configFor(name, overrides[name] ?? {})),
    }));
    return { module: ResilienceFeatureShim, providers, exports: providers.map((p) => p.provide) };
  }
}

@Module({})
class ResilienceFeatureShim {}
