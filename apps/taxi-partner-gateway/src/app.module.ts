import { DynamicModule, Module } from '@nestjs/common';
import {
  DEFAULT_BREAKER_CONFIGS,
  DeferredQueue,
  getBreakerToken,
  ResilienceModule,
  type Breaker,
  type Database,
} from '@app/resilience';
import { resilienceForService, ServiceKitModule } from '@app/service-kit';
import { ThrottlerModule } from '@nestjs/throttler';
import { Registry } from 'prom-client';

import { BbdClient } from './clients/bbd.client';
import { OrderOrchestratorClient, type DispatchEvent } from './clients/order-orchestrator.client';
import type { TpgConfig } from './config/tpg.config';
import { DispatchRepository } from './database/dispatch.repository';
import { TpgDatabaseModule } from './database/tpg-database.module';
import type { TpgTables } from './database/tpg.tables';
import { DispatchController } from './dispatch/dispatch.controller';
import { DispatchService } from './dispatch/dispatch.service';
import {
  BBD_CANCEL_QUEUE,
  BBD_CANCEL_QUEUE_NAME,
  DISPATCH_EVENTS_OUTBOX,
  DISPATCH_EVENTS_OUTBOX_NAME,
  MANUAL_DISPATCH_QUEUE,
  MANUAL_DISPATCH_QUEUE_NAME,
  TPG_CONFIG,
  TPG_DATABASE,
  type BbdCancelPayload,
  type BbdCancelQueue,
  type DispatchEventsOutbox,
  type ManualDispatchPayload,
  type ManualDispatchQueue,
} from './dispatch/dispatch.types';
import { TpgWorkers } from './dispatch/tpg-workers';
import { ManualDispatchController } from './manual-dispatch/manual-dispatch.controller';
import { DuplicateBbdOrderCanceller } from './manual-dispatch/duplicate-bbd-order.canceller';
import { ManualDispatchService } from './manual-dispatch/manual-dispatch.service';
import { OperatorTokenGuard } from './manual-dispatch/operator-token.guard';
import { VehiclesController } from './vehicles/vehicles.controller';

export const SERVICE_NAME = 'taxi-partner-gateway';
export const TPG_BREAKERS = ['bbd-dispatch', 'bbd-tracking', 'order-orchestrator-callbacks'] as const;

/** The breaker's per-call deadline as configured (override over library default). */
function callTimeoutMs(config: TpgConfig, name: (typeof TPG_BREAKERS)[number]): number {
  return config.breakerOverrides[name]?.callTimeoutMs ?? DEFAULT_BREAKER_CONFIGS[name]?.callTimeoutMs ?? 5000;
}

/** The Taxi Partner Gateway: dispatch to BBD, the manual dispatch queue, orchestrator events. */
@Module({})
export class AppModule {
  static register(config: TpgConfig): DynamicModule {
    if (!config.databaseUrl)
      throw new Error('AppModule.register: databaseUrl is required (main.ts starts the embedded one)');
    const registry = new Registry();
    const clock = config.clock ?? Date.now;
    const database = TpgDatabaseModule.register({
      url: config.databaseUrl,
      schema: config.databaseSchema,
      afterClose: config.afterDatabaseClosed,
      bounds: config.edge?.database,
    });
    const bbdTimeout = callTimeoutMs(config, 'bbd-dispatch');
    return {
      module: AppModule,
      imports: [
        database,
        resilienceForService({
          service: SERVICE_NAME,
          registry,
          clock,
          breakerOverrides: config.breakerOverrides,
          alertWebhookUrl: config.alertWebhookUrl,
          disabled: config.breakersDisabled,
        }),
        ResilienceModule.forFeature([...TPG_BREAKERS]),
        // Only the operator controller uses ThrottlerGuard (brute force of the token, runaway scripts).
        ThrottlerModule.forRoot([
          {
            name: 'operator',
            limit: config.operatorRateLimit?.limit ?? 120,
            ttl: config.operatorRateLimit?.ttlMs ?? 60_000,
            // One budget per client across every operator endpoint (the default is per handler).
            generateKey: (_context, tracker, name) => `${name}:${tracker}`,
          },
        ]),
        ServiceKitModule.forRootAsync({
          imports: [database],
          inject: [TPG_DATABASE],
          useFactory: (db: Database<TpgTables>) => ({
            service: SERVICE_NAME,
            registry,
            readiness: { database: () => db.ping(1000) },
          }),
        }),
      ],
      controllers: [DispatchController, VehiclesController, ManualDispatchController],
      providers: [
        { provide: TPG_CONFIG, useValue: config },
        OperatorTokenGuard,
        {
          provide: BbdClient,
          inject: [getBreakerToken('bbd-dispatch'), getBreakerToken('bbd-tracking')],
          useFactory: (dispatchBreaker: Breaker, trackingBreaker: Breaker) =>
            new BbdClient({
              baseUrl: config.bbdUrl,
              apiKey: config.bbdApiKey,
              dispatchBreaker,
              trackingBreaker,
              registry,
            }),
        },
        {
          provide: OrderOrchestratorClient,
          inject: [getBreakerToken('order-orchestrator-callbacks')],
          useFactory: (breaker: Breaker) =>
            new OrderOrchestratorClient({ baseUrl: config.orderOrchestratorUrl, breaker, registry }),
        },
        {
          provide: MANUAL_DISPATCH_QUEUE,
          inject: [TPG_DATABASE],
          useFactory: (db: Database<TpgTables>): ManualDispatchQueue =>
            new DeferredQueue<ManualDispatchPayload>({
              name: MANUAL_DISPATCH_QUEUE_NAME,
              db,
              registry,
              clock,
            }),
        },
        {
          provide: DISPATCH_EVENTS_OUTBOX,
          inject: [TPG_DATABASE],
          useFactory: (db: Database<TpgTables>): DispatchEventsOutbox =>
            new DeferredQueue<DispatchEvent>({ name: DISPATCH_EVENTS_OUTBOX_NAME, db, registry, clock }),
        },
        {
          provide: BBD_CANCEL_QUEUE,
          inject: [TPG_DATABASE],
          useFactory: (db: Database<TpgTables>): BbdCancelQueue =>
            new DeferredQueue<BbdCancelPayload>({ name: BBD_CANCEL_QUEUE_NAME, db, registry, clock }),
        },
        {
          provide: DispatchService,
          inject: [TPG_DATABASE, BbdClient, MANUAL_DISPATCH_QUEUE, DISPATCH_EVENTS_OUTBOX, BBD_CANCEL_QUEUE],
          useFactory: (
            db: Database<TpgTables>,
            bbd: BbdClient,
            manualQueue: ManualDispatchQueue,
            outbox: DispatchEventsOutbox,
            cancels: BbdCancelQueue,
          ) =>
            new DispatchService(
              db.db,
              new DispatchRepository(db.db),
              bbd,
              manualQueue,
              outbox,
              cancels,
              clock,
              { duplicateWaitMs: bbdTimeout + 1000, stalePendingMs: bbdTimeout + 5000 },
            ),
        },
        {
          provide: ManualDispatchService,
          inject: [MANUAL_DISPATCH_QUEUE, DispatchService, BbdClient],
          useFactory: (queue: ManualDispatchQueue, dispatches: DispatchService, bbd: BbdClient) =>
            new ManualDispatchService(queue, dispatches, bbd),
        },
        {
          provide: TpgWorkers,
          inject: [
            DispatchService,
            BbdClient,
            OrderOrchestratorClient,
            MANUAL_DISPATCH_QUEUE,
            DISPATCH_EVENTS_OUTBOX,
            BBD_CANCEL_QUEUE,
          ],
          useFactory: (
            dispatches: DispatchService,
            bbd: BbdClient,
            orchestrator: OrderOrchestratorClient,
            manualQueue: ManualDispatchQueue,
            outbox: DispatchEventsOutbox,
            cancelQueue: BbdCancelQueue,
          ) =>
            new TpgWorkers(
              dispatches,
              bbd,
              orchestrator,
              manualQueue,
              outbox,
              cancelQueue,
              new DuplicateBbdOrderCanceller(bbd, registry),
              {
                pollMs: config.replayPollMs,
                replayBatchSize: config.replayBatchSize,
                replayConcurrency: config.replayConcurrency,
                bbdLeaseMs: bbdTimeout + 5000,
                orchestratorLeaseMs: callTimeoutMs(config, 'order-orchestrator-callbacks') + 5000,
              },
            ),
        },
      ],
      exports: [DispatchService, TpgWorkers, MANUAL_DISPATCH_QUEUE, DISPATCH_EVENTS_OUTBOX, BBD_CANCEL_QUEUE],
    };
  }
}
