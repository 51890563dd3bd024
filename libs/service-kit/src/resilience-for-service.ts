import type { DynamicModule } from '@nestjs/common';
import { LoggingAlerter, ResilienceModule, WebhookAlerter, type Clock } from '@app/resilience';
import type { Registry } from 'prom-client';
import type { BreakerOverrides } from './config/breaker-overrides';

export interface ServiceResilienceOptions {
  /** Service name: the `service` label of its alerts. */
  service: string;
  /** The app's own metrics registry. */
  registry: Registry;
  breakerOverrides: BreakerOverrides;
  /** Alertmanager base URL; undefined → alerts are only logged. */
  alertWebhookUrl?: string;
  clock?: Clock;
  /** Cascade benchmark baseline only: breakers pass every call through. */
  disabled?: boolean;
}

/** ResilienceModule.forRoot as every service configures it: its registry, overrides and alerter. */
export function resilienceForService(options: ServiceResilienceOptions): DynamicModule {
  return ResilienceModule.forRoot({
    registry: options.registry,
    clock: options.clock,
    breakerOverrides: options.breakerOverrides,
    alerter: options.alertWebhookUrl
      ? new WebhookAlerter({ url: options.alertWebhookUrl, labels: { service: options.service } })
      : new LoggingAlerter(),
    disabled: options.disabled,
  });
}
