import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { createDatabase, type Database } from '@app/resilience';
import { ORCHESTRATOR_DATABASE } from '../config/order-orchestrator.tokens';
import { ORCHESTRATOR_MIGRATIONS } from './orders.migrations';
import type { OrchestratorTables } from './orders.tables';

/** Closes the pool last, after the outbox replayers have stopped. */
@Injectable()
class OrdersDatabaseCloser implements OnApplicationShutdown {
  constructor(@Inject(ORCHESTRATOR_DATABASE) private readonly database: Database<OrchestratorTables>) {}

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}

/** The orchestrator's system of record: a Database on its schema, migrated before anything uses it. */
@Module({})
export class OrdersDatabaseModule {
  static register(options: { url: string; schema: string }): DynamicModule {
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
        OrdersDatabaseCloser,
      ],
      exports: [ORCHESTRATOR_DATABASE],
    };
  }
}
