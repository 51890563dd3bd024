import { deferredQueueMigrations } from '@app/resilience';
import { Kysely, Migration } from 'kysely';

const createOrders: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('orders')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('user_id', 'text', (col) => col.notNull())
      .addColumn('session_id', 'text', (col) => col.notNull())
      .addColumn('payment_method', 'text', (col) => col.notNull())
      .addColumn('status', 'text', (col) => col.notNull())
      .addColumn('status_rank', 'integer', (col) => col.notNull())
      .addColumn('fare', 'jsonb', (col) => col.notNull())
      .addColumn('pickup', 'jsonb', (col) => col.notNull())
      .addColumn('dropoff', 'jsonb', (col) => col.notNull())
      .addColumn('user_info', 'jsonb', (col) => col.notNull())
      .addColumn('payment', 'jsonb')
      .addColumn('dispatch', 'jsonb', (col) => col.notNull())
      .addColumn('degraded', 'jsonb', (col) => col.notNull())
      .addColumn('vehicle', 'jsonb')
      .addColumn('last_event_sequence', 'bigint')
      // Unique: two concurrent requests with one key can never both insert an order.
      .addColumn('idempotency_key', 'text', (col) => col.unique())
      .addColumn('request_hash', 'text')
      .addColumn('first_answer', 'jsonb')
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('orders_user_created')
      .on('orders')
      .columns(['user_id', 'created_at'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('orders').execute();
  },
};

/** Every migration of the orchestrator's schema, in name order. */
export const ORCHESTRATOR_MIGRATIONS: Record<string, Migration> = {
  ...deferredQueueMigrations('0001'),
  '0002_orders': createOrders,
};
