import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { Registry } from 'prom-client';

export interface ServiceKitOptions {
  /** Service name, shown by /health/ready. */
  service: string;
  /** The app's own metrics registry (served by GET /metrics). */
  registry: Registry;
  /** Readiness checks by name (e.g. `database`); the service is ready when every one is true. */
  readiness?: Record<string, () => Promise<boolean>>;
}

export const { ConfigurableModuleClass: ServiceKitModuleBase, MODULE_OPTIONS_TOKEN: SERVICE_KIT_OPTIONS } =
  new ConfigurableModuleBuilder<ServiceKitOptions>()
    .setClassMethodName('forRoot')
    // Global so that the metrics controller, registered inside PrometheusModule, can inject the registry.
    .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
    .build();
