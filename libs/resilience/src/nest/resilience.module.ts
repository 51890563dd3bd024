import { Global, Module, type DynamicModule, type OnModuleDestroy, type Provider } from '@nestjs/common';
import { CircuitBreakerManager } from '../breaker/circuit-breaker-manager';
import { getBreakerToken } from './inject-breaker.decorator';
import type { ResilienceModuleOptions } from './resilience-module-options.interface';
import { RESILIENCE_MODULE_OPTIONS, ResilienceConfigurableModule } from './resilience.module-definition';

const managerProvider: Provider = {
  provide: CircuitBreakerManager,
  useFactory: (options: ResilienceModuleOptions) =>
    new CircuitBreakerManager({
      alerter: options.alerter,
      logger: options.logger,
      registry: options.registry,
      clock: options.clock,
      disabled: options.disabled,
    }),
  inject: [RESILIENCE_MODULE_OPTIONS],
};

/**
 * Provides the process's CircuitBreakerManager (global by default):
 * `ResilienceModule.forRoot({...})` / `forRootAsync({ useFactory, inject })`, then
 * `ResilienceModule.forFeature(['bbd-dispatch'])` + `@InjectBreaker('bbd-dispatch')` where needed.
 */
@Global()
@Module({
  providers: [managerProvider],
  exports: [CircuitBreakerManager, RESILIENCE_MODULE_OPTIONS],
})
export class ResilienceModule extends ResilienceConfigurableModule implements OnModuleDestroy {
  constructor(private readonly manager: CircuitBreakerManager) {
    super();
  }

  /** Providers of the breakers `names` (DEFAULT_BREAKER_CONFIGS merged with breakerOverrides). */
  static forFeature(names: string[]): DynamicModule {
    const providers: Provider[] = names.map((name) => ({
      provide: getBreakerToken(name),
      useFactory: (manager: CircuitBreakerManager, options: ResilienceModuleOptions) =>
        manager.getOrCreate(manager.configFor(name, options.breakerOverrides?.[name])),
      inject: [CircuitBreakerManager, RESILIENCE_MODULE_OPTIONS],
    }));
    return { module: ResilienceFeatureModule, providers, exports: providers };
  }

  onModuleDestroy(): void {
    this.manager.shutdown();
  }
}

/** Host of `forFeature` breaker providers. */
@Module({})
export class ResilienceFeatureModule {}
