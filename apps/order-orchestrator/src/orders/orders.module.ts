import {
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleDestroy,
} from '@nestjs/common';
import {
  CircuitBreakerManager,
  DEFAULT_BREAKER_CONFIGS,
  ResilienceModule,
  ResilientHttpClient,
  StaleCache,
  createStaleCacheRedis,
  getBreakerToken,
  type Breaker,
  type Clock,
  type Database,
} from '@app/resilience';
import { DEFAULT_DATABASE_QUERY_TIMEOUT_MS } from '@app/service-kit';
import type { Registry } from 'prom-client';
import type { UserProfile } from '../clients/downstream.types';
import { PaymentProcessorClient } from '../clients/payment-processor.client';
import { SessionManagerClient } from '../clients/session-manager.client';
import { TpgClient } from '../clients/tpg.client';
import { UserServiceClient } from '../clients/user-service.client';
import type { OrderOrchestratorConfig } from '../config/order-orchestrator.config';
import {
  ORCHESTRATOR_CLOCK,
  ORCHESTRATOR_DATABASE,
  ORCHESTRATOR_REPLICA_DATABASE,
} from '../config/order-orchestrator.tokens';
import { OrdersDatabaseModule } from '../database/orders-database.module';
import { OrdersRepository } from '../database/orders.repository';
import type { OrchestratorTables } from '../database/orders.tables';
import { OrderOutboxes } from '../outbox/order-outboxes';
import { UserDirectory } from '../users/user-directory';
import { LoadShedder } from './load-shedder';
import { OrderHistory, REPLICA_BREAKER, REPLICA_BREAKER_DEFAULTS } from './order-history';
import { OrderMetrics } from './order.metrics';
import { OrdersController } from './orders.controller';
import { ORDERS_DEPENDENCIES, OrdersService, type OrdersDependencies } from './orders.service';

export const ORCHESTRATOR_BREAKERS = [
  'session-manager',
  'user-service',
  'payment-processor',
  'taxipartnergateway',
] as const;

/** Starts the outbox replayers once the app is up and stops them before the pool closes. */
@Injectable()
class OutboxLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  constructor(@Inject(OrderOutboxes) private readonly outboxes: OrderOutboxes) {}

  onApplicationBootstrap(): void {
    this.outboxes.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.outboxes.stop();
  }
}

const RESOURCE_CLOSERS = Symbol('RESOURCE_CLOSERS');

/** The breaker's per-call deadline as configured (override over the library default). */
function callTimeoutMs(config: OrderOrchestratorConfig, name: string): number {
  return (
    config.breakerOverrides[name]?.callTimeoutMs ?? DEFAULT_BREAKER_CONFIGS[name]?.callTimeoutMs ?? 10_000
  );
}

/** Closes the HTTP clients' sockets and the cache's Redis connection on shutdown. */
@Injectable()
class ResourcesCloser implements OnApplicationShutdown {
  constructor(@Inject(RESOURCE_CLOSERS) private readonly closers: Array<() => void>) {}

  onApplicationShutdown(): void {
    for (const close of this.closers) close();
  }
}

/** Orders: the POST /orders flow, its outboxes, dispatch events and payment links. */
@Module({})
export class OrdersModule {
  static register(
    config: OrderOrchestratorConfig & { databaseUrl: string },
    registry: Registry,
    clock: Clock,
  ): DynamicModule {
    const logger = new Logger('Orders');
    const queryTimeoutMs = config.edge?.database.queryTimeoutMs ?? DEFAULT_DATABASE_QUERY_TIMEOUT_MS;
    const database = OrdersDatabaseModule.register({
      url: config.databaseUrl,
      schema: config.databaseSchema,
      bounds: config.edge?.database,
      replicaUrl: config.databaseReplicaUrl,
    });
    // Sockets and connections this module opens, released on shutdown.
    const closers: Array<() => void> = [];
    const http = (downstream: string, baseUrl: string, breaker?: Breaker): ResilientHttpClient => {
      const client = new ResilientHttpClient({ downstream, baseUrl, breaker, registry, clock });
      closers.push(() => client.close());
      return client;
    };
    return {
      module: OrdersModule,
      imports: [database, ResilienceModule.forFeature([...ORCHESTRATOR_BREAKERS])],
      controllers: [OrdersController],
      providers: [
        { provide: ORCHESTRATOR_CLOCK, useValue: clock },
        {
          provide: OrderOutboxes,
          inject: [
            ORCHESTRATOR_DATABASE,
            getBreakerToken('taxipartnergateway'),
            getBreakerToken('payment-processor'),
          ],
          useFactory: (db: Database<OrchestratorTables>, tpgBreaker: Breaker, paymentBreaker: Breaker) =>
            new OrderOutboxes({
              database: db,
              orders: new OrdersRepository(db),
              tpg: { client: tpgClient(tpgBreaker), breaker: tpgBreaker },
              payments: { client: paymentClient(paymentBreaker), breaker: paymentBreaker },
              registry,
              clock,
              pollIntervalMs: config.outboxPollMs,
              holderWaitMs:
                Math.max(
                  callTimeoutMs(config, 'taxipartnergateway'),
                  callTimeoutMs(config, 'payment-processor'),
                ) + 1000,
              logger: new Logger('OrderOutboxes'),
            }),
        },
        OutboxLifecycle,
        { provide: RESOURCE_CLOSERS, useValue: closers },
        ResourcesCloser,
        {
          provide: ORDERS_DEPENDENCIES,
          inject: [
            ORCHESTRATOR_DATABASE,
            OrderOutboxes,
            getBreakerToken('session-manager'),
            getBreakerToken('user-service'),
            getBreakerToken('payment-processor'),
            getBreakerToken('taxipartnergateway'),
          ],
          useFactory: (
            db: Database<OrchestratorTables>,
            outboxes: OrderOutboxes,
            sessionBreaker: Breaker,
            userBreaker: Breaker,
            paymentBreaker: Breaker,
            tpgBreaker: Breaker,
          ): OrdersDependencies => {
            const redis = config.redisUrl === undefined ? undefined : createStaleCacheRedis(config.redisUrl);
            if (redis) {
              redis.on('error', () => undefined); // counted by the cache as stale_cache_redis_errors_total
              closers.push(() => redis.disconnect());
            }
            const userCache = new StaleCache<UserProfile>({
              name: 'users',
              redis,
              keyPrefix: 'order-orchestrator:',
              clock,
              registry,
              logger,
            });
            const users = new UserDirectory(
              new UserServiceClient(http('user-service', config.userServiceUrl, userBreaker)),
              userBreaker,
              userCache,
              { freshTtlMs: config.userCacheFreshTtlMs, staleTtlMs: config.userCacheStaleTtlMs },
            );
            return {
              orders: new OrdersRepository(db),
              outboxes,
              sessions: {
                client: new SessionManagerClient(
                  http('session-manager', config.sessionManagerUrl, sessionBreaker),
                ),
                breaker: sessionBreaker,
              },
              users,
              payments: paymentClient(paymentBreaker),
              tpg: tpgClient(tpgBreaker),
              shedder: new LoadShedder(sessionBreaker, userBreaker, users, paymentBreaker),
              metrics: new OrderMetrics(registry),
              commitCheckMs: queryTimeoutMs,
              duplicateWaitMs: ORCHESTRATOR_BREAKERS.reduce(
                (sum, name) => sum + callTimeoutMs(config, name),
                2000 + queryTimeoutMs,
              ),
            };
          },
        },
        {
          provide: OrderHistory,
          inject: [ORCHESTRATOR_DATABASE, ORCHESTRATOR_REPLICA_DATABASE, CircuitBreakerManager],
          useFactory: (
            db: Database<OrchestratorTables>,
            replica: Database<OrchestratorTables> | null,
            manager: CircuitBreakerManager,
          ) =>
            new OrderHistory(
              new OrdersRepository(db),
              replica === null
                ? undefined
                : {
                    orders: new OrdersRepository(replica),
                    breaker: manager.getOrCreate(
                      manager.configFor(REPLICA_BREAKER, {
                        ...REPLICA_BREAKER_DEFAULTS,
                        ...config.breakerOverrides[REPLICA_BREAKER],
                      }),
                    ),
                  },
              registry,
              new Logger('OrderHistory'),
            ),
        },
        OrdersService,
      ],
      exports: [database, OrderOutboxes],
    };

    function tpgClient(breaker: Breaker): TpgClient {
      return new TpgClient(
        http('taxipartnergateway', config.tpgUrl, breaker),
        http('taxipartnergateway', config.tpgUrl),
      );
    }

    function paymentClient(breaker: Breaker): PaymentProcessorClient {
      return new PaymentProcessorClient(
        http('payment-processor', config.paymentProcessorUrl, breaker),
        http('payment-processor', config.paymentProcessorUrl),
      );
    }
  }
}
