import { Module, type DynamicModule } from '@nestjs/common';
import { LoggingAlerter, ResilienceModule, WebhookAlerter } from '@app/resilience';
import { ServiceKitModule } from '@app/service-kit';
import { Registry } from 'prom-client';
import type { SessionManagerConfig } from './config/session-manager.config';
import { SESSION_STORE, type SessionStore } from './sessions/session.store';
import { SessionsModule } from './sessions/sessions.module';

export const SERVICE_NAME = 'session-manager';

/** The session manager: search and pricing, sessions kept until their TTL. */
@Module({})
export class AppModule {
  static register(config: SessionManagerConfig): DynamicModule {
    const registry = new Registry();
    const clock = config.clock ?? Date.now;
    const sessions = SessionsModule.register(config, registry, clock);
    return {
      module: AppModule,
      imports: [
        ResilienceModule.forRoot({
          registry,
          clock,
          breakerOverrides: config.breakerOverrides,
          alerter: config.alertWebhookUrl
            ? new WebhookAlerter({ url: config.alertWebhookUrl, labels: { service: SERVICE_NAME } })
            : new LoggingAlerter(),
        }),
        sessions,
        ServiceKitModule.forRootAsync({
          imports: [sessions],
          inject: [SESSION_STORE],
          useFactory: (store: SessionStore) => ({
            service: SERVICE_NAME,
            registry,
            readiness: { sessionStore: () => store.ping() },
          }),
        }),
      ],
    };
  }
}
