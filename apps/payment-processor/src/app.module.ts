import { DynamicModule, Module } from '@nestjs/common';
import { getBreakerToken, ResilienceModule, type Breaker } from '@app/resilience';
import { resilienceForService, ServiceKitModule } from '@app/service-kit';
import { Registry } from 'prom-client';
import { MidtransClient } from './clients/midtrans.client';
import { NicepayClient } from './clients/nicepay.client';
import type { PaymentGatewayClient } from './clients/payment-gateway.client';
import { XenditClient } from './clients/xendit.client';
import { GATEWAY_BREAKERS, type PaymentProcessorConfig } from './config/payment-processor.config';
import { PAYMENT_DATABASE, type PaymentDatabase } from './database/payment-database';
import { PaymentDatabaseModule } from './database/payment-database.module';
import { PaymentLinksMetrics } from './metrics/payment-links.metrics';
import { OrphanExpiryOutbox } from './orphans/orphan-expiry.outbox';
import { PaymentLinksController } from './payment-links/payment-links.controller';
import { PaymentLinksRepository } from './payment-links/payment-links.repository';
import { PaymentLinksService } from './payment-links/payment-links.service';
import {
  PAYMENT_GATEWAY_CLIENTS,
  PAYMENT_REGISTRY,
  PROCESSOR_SETTINGS,
  type ProcessorSettings,
} from './payment.tokens';
import { WebhooksController } from './webhooks/webhooks.controller';

export const SERVICE_NAME = 'payment-processor';
const BREAKER_NAMES = Object.values(GATEWAY_BREAKERS);

/** The Payment Processor: payment links over three gateways with safe failover, and their webhooks. */
@Module({})
export class AppModule {
  static register(config: PaymentProcessorConfig): DynamicModule {
    const databaseUrl = config.databaseUrl;
    if (!databaseUrl)
      throw new Error('AppModule.register: databaseUrl is required (main.ts starts the embedded one)');
    const registry = new Registry();
    const settings: ProcessorSettings = { ...config, clock: config.clock ?? Date.now };
    const database = PaymentDatabaseModule.register({
      url: databaseUrl,
      schema: config.databaseSchema,
      afterClose: config.afterDatabaseClosed,
      bounds: config.edge?.database,
    });
    return {
      module: AppModule,
      imports: [
        database,
        resilienceForService({
          service: SERVICE_NAME,
          registry,
          clock: settings.clock,
          breakerOverrides: config.breakerOverrides,
          alertWebhookUrl: config.alertWebhookUrl,
        }),
        ResilienceModule.forFeature(BREAKER_NAMES),
        ServiceKitModule.forRootAsync({
          imports: [database],
          inject: [PAYMENT_DATABASE],
          useFactory: (database: PaymentDatabase) => ({
            service: SERVICE_NAME,
            registry,
            readiness: { database: () => database.ping(1000) },
          }),
        }),
      ],
      controllers: [PaymentLinksController, WebhooksController],
      providers: [
        { provide: PROCESSOR_SETTINGS, useValue: settings },
        { provide: PAYMENT_REGISTRY, useValue: registry },
        {
          provide: PAYMENT_GATEWAY_CLIENTS,
          inject: BREAKER_NAMES.map((name) => getBreakerToken(name)),
          useFactory: (midtrans: Breaker, xendit: Breaker, nicepay: Breaker): PaymentGatewayClient[] => [
            new MidtransClient({
              baseUrl: config.midtrans.url,
              serverKey: config.midtrans.serverKey,
              breaker: midtrans,
              registry,
              clock: settings.clock,
            }),
            new XenditClient({
              baseUrl: config.xendit.url,
              secretKey: config.xendit.secretKey,
              breaker: xendit,
              registry,
              clock: settings.clock,
            }),
            new NicepayClient({
              baseUrl: config.nicepay.url,
              merchantKey: config.nicepay.merchantKey,
              iMid: config.nicepay.iMid,
              publicBaseUrl: config.publicBaseUrl,
              breaker: nicepay,
              registry,
              clock: settings.clock,
            }),
          ],
        },
        OrphanExpiryOutbox,
        PaymentLinksRepository,
        PaymentLinksService,
        PaymentLinksMetrics,
      ],
      exports: [PaymentLinksService, OrphanExpiryOutbox],
    };
  }
}
