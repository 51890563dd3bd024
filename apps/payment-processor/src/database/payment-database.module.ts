import { DynamicModule, Inject, Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { createDatabase } from '@app/resilience';
import type { DatabaseBounds } from '@app/service-kit';
import { PAYMENT_DATABASE, type PaymentDatabase } from './payment-database';
import { paymentMigrations } from './payment.migrations';
import type { PaymentTables } from './payment.tables';

export interface PaymentDatabaseOptions {
  url: string;
  schema: string;
  /** Runs after the pool closed (main.ts stops the embedded Postgres here). */
  afterClose?: () => Promise<void>;
  /** Pool and query deadlines; undefined → 2 s to connect, 5 s per query. */
  bounds?: DatabaseBounds;
}

const OPTIONS = Symbol('PAYMENT_DATABASE_OPTIONS');

/** Closes the pool last: the outbox replayers stop before application shutdown. */
@Injectable()
class PaymentDatabaseCloser implements OnApplicationShutdown {
  constructor(
    @Inject(PAYMENT_DATABASE) private readonly database: PaymentDatabase,
    @Inject(OPTIONS) private readonly options: PaymentDatabaseOptions,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
    await this.options.afterClose?.();
  }
}

/** The payments schema, migrated before anything uses it. */
@Module({})
export class PaymentDatabaseModule {
  static register(options: PaymentDatabaseOptions): DynamicModule {
    return {
      module: PaymentDatabaseModule,
      providers: [
        {
          provide: PAYMENT_DATABASE,
          useFactory: async (): Promise<PaymentDatabase> => {
            const database = createDatabase<PaymentTables>({
              url: options.url,
              schema: options.schema,
              applicationName: 'payment-processor',
              // Bounded so that a refused or stalled Postgres fails a request fast (503), never hangs it.
              connectionTimeoutMs: options.bounds?.connectionTimeoutMs ?? 2000,
              queryTimeoutMs: options.bounds?.queryTimeoutMs ?? 5000,
              statementTimeoutMs: options.bounds?.statementTimeoutMs,
            });
            try {
              await database.migrate(paymentMigrations);
            } catch (err: unknown) {
              await database.close();
              throw err;
            }
            return database;
          },
        },
        { provide: OPTIONS, useValue: options },
        PaymentDatabaseCloser,
      ],
      exports: [PAYMENT_DATABASE],
    };
  }
}
