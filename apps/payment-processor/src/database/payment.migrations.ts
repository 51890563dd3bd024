import { deferredQueueMigrations } from '@app/resilience';
import { Kysely, Migration, sql } from 'kysely';

const createPaymentTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('payment_links')
      .addColumn('id', 'text', (col) => col.primaryKey())
      .addColumn('idempotency_key', 'text', (col) => col.notNull())
      .addColumn('order_id', 'text', (col) => col.notNull())
      .addColumn('amount', 'bigint', (col) => col.notNull().check(sql`amount > 0`))
      .addColumn('currency', 'text', (col) => col.notNull())
      .addColumn('customer_name', 'text', (col) => col.notNull())
      .addColumn('customer_email', 'text', (col) => col.notNull())
      .addColumn('description', 'text')
      .addColumn('status', 'text', (col) =>
        col
          .notNull()
          .check(
            sql`status in ('creating', 'pending', 'paid', 'expired', 'failed', 'needs_refund', 'unavailable')`,
          ),
      )
      .addColumn('gateway', 'text')
      .addColumn('url', 'text')
      .addColumn('gateway_ref', 'text')
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .execute();
    await db.schema
      .createIndex('payment_links_order_id_idx')
      .on('payment_links')
      .column('order_id')
      .execute();
    await db.schema.createIndex('payment_links_status_idx').on('payment_links').column('status').execute();

    await db.schema
      .createTable('idempotency_keys')
      .addColumn('key', 'text', (col) => col.primaryKey())
      .addColumn('request_hash', 'text', (col) => col.notNull())
      .addColumn('link_id', 'text', (col) => col.notNull())
      .addColumn('state', 'text', (col) =>
        col.notNull().check(sql`state in ('in_progress', 'completed', 'failed')`),
      )
      .addColumn('response_status', 'integer')
      .addColumn('response_body', 'jsonb')
      .addColumn('lease_expires_at', 'timestamptz', (col) => col.notNull())
      .addColumn('created_at', 'timestamptz', (col) => col.notNull())
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .execute();

    await db.schema
      .createTable('payment_attempts')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('link_id', 'text', (col) => col.notNull().references('payment_links.id'))
      .addColumn('seq', 'integer', (col) => col.notNull())
      .addColumn('gateway', 'text', (col) => col.notNull())
      .addColumn('outcome', 'text', (col) =>
        col
          .notNull()
          .check(sql`outcome in ('started', 'success', 'failure', 'rejected', 'skipped', 'unknown')`),
      )
      .addColumn('error', 'text')
      .addColumn('gateway_ref', 'text')
      .addColumn('url', 'text')
      .addColumn('gateway_status', 'text', (col) =>
        col.check(sql`gateway_status in ('pending', 'paid', 'expired', 'failed', 'superseded')`),
      )
      .addColumn('started_at', 'timestamptz', (col) => col.notNull())
      .addColumn('finished_at', 'timestamptz')
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .addUniqueConstraint('payment_attempts_link_gateway_key', ['link_id', 'gateway'])
      .execute();
  },
};

/** Every migration of the payments schema, in name order (the queue's tables first). */
export const paymentMigrations: Record<string, Migration> = {
  ...deferredQueueMigrations('0000'),
  '0001_payment_tables': createPaymentTables,
};
