import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { createDatabase, type Database } from '@app/resilience';
import type { DatabaseBounds } from '@app/service-kit';
import { ORCHESTRATOR_DATABASE, ORCHESTRATOR_REPLICA_DATABASE } from '../config/order-orchestrator.tokens';
import { ORCHESTRATOR_MIGRATIONS } from './orders.migrations';
import type { OrchestratorTables } from './orders.tables';

export interface OrdersDatabaseOptions {
  url: string;
  schema: string;
  /** Pool and query deadlines; undefined → 2 s to connect, 5 s per query. */
  bounds?: DatabaseBounds;
  /** Read replica for non-critical reads (order history); never migrated, never written. */
  replicaUrl?: string;
}

/** Closes the pools last, after the outbox replayers have stopped. */
@Injectable()
class OrdersDatabaseCloser implements OnApplicationShutdown {
  constructor(
    @Inject(ORCHESTRATOR_DATABASE) private readonly database: Database<OrchestratorTables>,
    @Inject(ORCHESTRATOR_REPLICA_DATABASE) private readonly replica: Database<OrchestratorTables> | null,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.database.close(), this.replica?.close()]);
  }
}

/**
 * The orchestrator's system of record: a Database on its schema, migrated before anything uses it;
 * plus, when configured, a read replica (`ORCHESTRATOR_REPLICA_DATABASE`, null otherwise).
 */
@Module({})
export class OrdersDatabaseModule {
  static register(options: OrdersDatabaseOptions): DynamicModule {
    // Bounded so that a refused or stalled Postgres fails a request fast (503), never hangs it.
    const bounds = {
      connectionTimeoutMs: options.bounds?.connectionTimeoutMs ?? 2000,
      queryTimeoutMs: options.bounds?.queryTimeoutMs ?? 5000,
      statementTimeoutMs: options.bounds?.statementTimeoutMs,
    };
    return {
      module: OrdersDatabaseModule,
      providers: [
        {
          provide: ORCHESTRATOR_DATABASE,
          useFactory: async (): Promise<Database<OrchestratorTables>> => {
            const database = createDatabase<OrchestratorTables>({
              url: options.url,
              schema: options.schema,
              applicationName: 'order-orchestrator',
              ...bounds,
            });
            try {
              await database.migrate(ORCHESTRATOR_MIGRATIONS);
            } catch (err: unknown) {
              await database.close();
              throw err;
            }
            return database;
          },
        },
        {
          provide: ORCHESTRATOR_REPLICA_DATABASE,
          // Lazy pool: a replica that is down at start only costs fallbacks to the primary.
          useFactory: (): Database<OrchestratorTables> | null =>
            options.replicaUrl === undefined
              ? null
              : createDatabase<OrchestratorTables>({
                  url: options.replicaUrl,
                  schema: options.schema,
                  applicationName: 'order-orchestrator-replica',
                  poolMax: 4,
                  ...bounds,
                }),
        },
        OrdersDatabaseCloser,
      ],
      exports: [ORCHESTRATOR_DATABASE, ORCHESTRATOR_REPLICA_DATABASE],
    };
  }
}
