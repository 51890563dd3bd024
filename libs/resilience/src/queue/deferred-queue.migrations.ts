import { Kysely, Migration, sql } from 'kysely';

/**
 * The queue's tables (one pair shared by every named queue of a schema), as Kysely migrations to
 * merge into the service's own: `db.migrate({ ...deferredQueueMigrations('0001'), ...own })`.
 * `prefix` places them in the service's name order; keep it stable once deployed.
 */
export function deferredQueueMigrations(prefix = '0000'): Record<string, Migration> {
  return { [`${prefix}_deferred_queue_0001_tables`]: createTables };
}

const createTables: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('deferred_queue_entries')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('queue', 'text', (col) => col.notNull())
      .addColumn('key', 'text', (col) => col.notNull())
      .addColumn('payload', 'jsonb', (col) => col.notNull())
      .addColumn('status', 'text', (col) =>
        col
          .notNull()
          .check(
            sql`status in ('pending', 'claimed', 'replaying', 'replayed', 'completed', 'failed', 'cancelled')`,
          ),
      )
      .addColumn('reason', 'text')
      .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
      .addColumn('enqueued_at', 'timestamptz', (col) => col.notNull())
      .addColumn('updated_at', 'timestamptz', (col) => col.notNull())
      .addColumn('claimed_by', 'text')
      .addColumn('claimed_at', 'timestamptz')
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires_at', 'timestamptz')
      .addColumn('completed_at', 'timestamptz')
      .addColumn('result', 'jsonb')
      .addColumn('last_error', 'text')
      .addUniqueConstraint('deferred_queue_entries_queue_key_unique', ['queue', 'key'])
      .execute();
    await db.schema
      .createIndex('deferred_queue_entries_queue_status_order')
      .on('deferred_queue_entries')
      .columns(['queue', 'status', 'enqueued_at', 'id'])
      .execute();
    await db.schema
      .createTable('deferred_queue_events')
      .addColumn('id', 'bigserial', (col) => col.primaryKey())
      .addColumn('entry_id', 'bigint', (col) =>
        col.notNull().references('deferred_queue_entries.id').onDelete('cascade'),
      )
      .addColumn('queue', 'text', (col) => col.notNull())
      .addColumn('from_status', 'text')
      .addColumn('to_status', 'text', (col) => col.notNull())
      .addColumn('actor', 'text', (col) => col.notNull())
      .addColumn('at', 'timestamptz', (col) => col.notNull())
      .addColumn('detail', 'jsonb')
      .execute();
    await db.schema
      .createIndex('deferred_queue_events_entry')
      .on('deferred_queue_events')
      .columns(['entry_id', 'id'])
      .execute();
  },
  async down(db: Kysely<unknown>): Promise<void> {
    await db.schema.dropTable('deferred_queue_events').execute();
    await db.schema.dropTable('deferred_queue_entries').execute();
  },
};
