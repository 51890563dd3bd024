import { deferredQueueMigrations } from '@app/resilience';
import { Kysely, Migration, sql } from 'kysely';

const createDispatches: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('dispatches')
      .addColumn('id', 'text', (col) => col.primaryKey())
      // The unique constraint is what makes a racing duplicate POST an insert-or-get.
      .addColumn('order_id', 'text', (col) => col.notNull().unique())
      .addColumn('status', 'text', (col) =>
        col.notNull().check(sql`status in ('pending', 'dispatched', 'queued', 'driver_assigned')`),
      )
      .addColumn('pickup', 'jsonb', (col) => col.notNull())
      .addColumn('dropoff', 'jsonb', (col) => col.notNull())
      .addColumn('passenger', 'jsonb')
      .addColumn('bbd_order_id', 'text')
      .addColumn('reason', 'text')
      .addColumn('vehicle', 'jsonb')
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('dispatches_status_created')
      .on('dispatches')
      .columns(['status', 'created_at'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('dispatches').execute();
  },
};

/** The gateway's migrations, in name order: the library's queue tables, then its own. */
export const TPG_MIGRATIONS: Record<string, Migration> = {
  ...deferredQueueMigrations('0001'),
  '0002_dispatches': createDispatches,
};
