import { DynamicModule, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import { createDatabase, type Database } from '@app/resilience';
import type { DatabaseBounds } from '@app/service-kit';
import { TPG_DATABASE } from '../dispatch/dispatch.types';
import { TPG_MIGRATIONS } from './tpg.migrations';
import type { TpgTables } from './tpg.tables';

export interface TpgDatabaseOptions {
  url: string;
  schema: string;
  afterClose?: () => Promise<void>;
  /** Pool and query deadlines; undefined → 2 s to connect, 5 s per query. */
  bounds?: DatabaseBounds;
}

const TPG_DATABASE_OPTIONS = Symbol('TPG_DATABASE_OPTIONS');

/** Closes the pool last, after the workers have stopped (they stop in onModuleDestroy). */
@Injectable()
class TpgDatabaseCloser implements OnApplicationShutdown {
  constructor(
    @Inject(TPG_DATABASE) private readonly database: Database<TpgTables>,
    @Inject(TPG_DATABASE_OPTIONS) private readonly options: TpgDatabaseOptions,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
    await this.options.afterClose?.();
  }
}

/** The gateway's system of record: a Database on its schema, migrated before anything uses it. */
@Module({})
export class TpgDatabaseModule {
  static register(options: TpgDatabaseOptions): DynamicModule {
    return {
      module: TpgDatabaseModule,
      providers: [
        {
          provide: TPG_DATABASE,
          useFactory: async (): Promise<Database<TpgTables>> => {
            const database = createDatabase<TpgTables>({
              url: options.url,
              schema: options.schema,
              applicationName: 'taxi-partner-gateway',
              // Bounded so that a refused or stalled Postgres fails a request fast (503), never hangs it.
              connectionTimeoutMs: options.bounds?.connectionTimeoutMs ?? 2000,
              queryTimeoutMs: options.bounds?.queryTimeoutMs ?? 5000,
              statementTimeoutMs: options.bounds?.statementTimeoutMs,
            });
            try {
              await database.migrate(TPG_MIGRATIONS);
            } catch (err: unknown) {
              await database.close();
              throw err;
            }
            return database;
          },
        },
        { provide: TPG_DATABASE_OPTIONS, useValue: options },
        TpgDatabaseCloser,
      ],
      exports: [TPG_DATABASE],
    };
  }
}
