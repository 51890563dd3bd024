import { Module, type DynamicModule } from '@nestjs/common';
import type { Database } from '@app/resilience';
import { resilienceForService, ServiceKitModule } from '@app/service-kit';
import { Registry } from 'prom-client';
import type { OrderOrchestratorConfig } from './config/order-orchestrator.config';
import { ORCHESTRATOR_DATABASE } from './config/order-orchestrator.tokens';
import type { OrchestratorTables } from './database/orders.tables';
import { OrdersModule } from './orders/orders.module';

export const SERVICE_NAME = 'order-orchestrator';

/** The order orchestrator: takes orders and sees them through payment and dispatch. */
@Module({})
export class AppModule {
  static register(config: OrderOrchestratorConfig): DynamicModule {
    const databaseUrl = config.databaseUrl;
    if (!databaseUrl)
      throw new Error('AppModule.register: databaseUrl is required (main.ts starts the embedded one)');
    const registry = new Registry();
    const clock = config.clock ?? Date.now;
    const orders = OrdersModule.register({ ...config, databaseUrl }, registry, clock);
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
        orders,
        ServiceKitModule.forRootAsync({
          imports: [orders],
          inject: [ORCHESTRATOR_DATABASE],
          useFactory: (db: Database<OrchestratorTables>) => ({
            service: SERVICE_NAME,
            registry,
            readiness: { database: () => db.ping(1000) },
          }),
        }),
      ],
    };
  }
}
