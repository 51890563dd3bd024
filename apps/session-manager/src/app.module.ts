import { Module, type DynamicModule } from '@nestjs/common';
import { resilienceForService, ServiceKitModule } from '@app/service-kit';
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
        resilienceForService({
          service: SERVICE_NAME,
          registry,
          clock,
          breakerOverrides: config.breakerOverrides,
          alertWebhookUrl: config.alertWebhookUrl,
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
