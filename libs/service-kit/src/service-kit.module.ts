import { Module } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HealthController } from './health/health.controller';
import { METRICS_REGISTRY } from './metrics/metrics.tokens';
import { RegistryMetricsController } from './metrics/registry-metrics.controller';
import { SERVICE_KIT_OPTIONS, ServiceKitModuleBase, ServiceKitOptions } from './service-kit.options';

/**
 * What every service exposes besides its features: /health/live, /health/ready, /breakers and
 * /metrics (from the app's own registry). Needs ResilienceModule for the breaker list.
 */
@Module({
  imports: [
    PrometheusModule.register({
      controller: RegistryMetricsController,
      defaultMetrics: { enabled: false },
    }),
  ],
  controllers: [HealthController],
  providers: [
    {
      provide: METRICS_REGISTRY,
      inject: [SERVICE_KIT_OPTIONS],
      useFactory: (options: ServiceKitOptions) => options.registry,
    },
  ],
  exports: [METRICS_REGISTRY],
})
export class ServiceKitModule extends ServiceKitModuleBase {}
