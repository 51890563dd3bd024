import { Logger } from '@nestjs/common';
import { Kysely, Migration, MigrationResult, Migrator, PostgresDialect, sql } from 'kysely';
import { Pool, PoolClient } from 'pg';
import { DatabaseMigrationError } from './database-migration.error';
import type { Database, DatabaseLogger, DatabaseOptions } from './database.types';

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `schema` is a plain lower-case identifier (it is interpolated as an identifier). */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new Error(`schema: '${schema}' is not a lower-case identifier of at most 63 characters`);
  }
}

/**
 * Opens a `pg` pool and a Kysely instance bound to one schema. Tables are schema-qualified by
 * Kysely's `withSchema` rather than `search_path`, because PGlite serves every connection from one
 * session, where a per-connection `search_path` would leak between services and test suites.
 */
export function createDatabase<DB>(options: DatabaseOptions): Database<DB> {
  assertSchemaName(options.schema);
  const logger: DatabaseLogger = options.logger ?? new Logger('Database');
  const schema = options.schema;
  const pool = new Pool({
    connectionString: options.url,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
    application_name: options.applicationName,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
    ...(options.queryTimeoutMs ? { query_timeout: options.queryTimeoutMs } : {}),
  });
  // An idle client losing its server emits here; unhandled it would crash the process.
  pool.on('error', (err: Error) => {
    logger.error(`postgres pool error (schema ${schema}): ${err.message}`);
  });
  // A checked-out client losing its server emits 'error' too, and pg-pool only listens while the
  // client is idle: without this a connection cut in the middle of a transaction crashes the process.
  // The query in flight still fails, and pg-pool discards the broken client on release.
  pool.on('connect', (client: PoolClient) => {
    client.on('error', (err: Error) => {
      logger.warn(`postgres connection lost (schema ${schema}): ${err.message}`);
    });
  });
  const base = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  const db = base.withSchema(schema);
  let closed: Promise<void> | undefined;

  async function ping(timeoutMs = 1000): Promise<boolean> {
    if (closed) return false;
    let client: PoolClient | undefined;
    let settled = false;
    const finish = (err?: Error): void => {
      if (client && !settled) client.release(err);
      settled = true;
    };
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => {
        // A stalled connection is destroyed (release with an error), never handed out again.
        finish(new Error(`ping timed out after ${timeoutMs} ms`));
        resolve(false);
      }, timeoutMs);
      timer.unref();
    });
    const probe = (async (): Promise<boolean> => {
      try {
        client = await pool.connect();
        if (settled) {
          client.release();
          return false;
        }
        await client.query('select 1');
        finish();
        return true;
      } catch (err: unknown) {
        finish(err instanceof Error ? err : new Error(String(err)));
        return false;
      }
    })();
    try {
      return await Promise.race([probe, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function ensureSchema(): Promise<void> {
    // Two processes racing on CREATE SCHEMA IF NOT EXISTS can still collide on pg_namespace.
    await base.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${`schema:${schema}`}))`.execute(trx);
      await sql`create schema if not exists ${sql.id(schema)}`.execute(trx);
    });
  }

  async function migrate(migrations: Record<string, Migration>): Promise<MigrationResult[]> {
    await ensureSchema();
    // Kysely's Postgres adapter holds an advisory lock for the whole run, so concurrent starts queue.
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => migrations },
      migrationTableSchema: schema,
    });
    let outcome = await migrator.migrateToLatest();
    // Kysely's Migrator introspects every schema's tables; a schema dropped meanwhile by another
    // process (other services, test suites) makes that scan fail with 3F000. It is not ours: retry.
    for (let attempt = 1; attempt <= 5 && isForeignSchemaRace(outcome.error, schema); attempt += 1) {
      logger.warn(`migration of ${schema} raced a concurrent schema drop; retrying (${attempt})`);
      outcome = await migrator.migrateToLatest();
    }
    const { error, results = [] } = outcome;
    for (const result of results) {
      if (result.status === 'Success') logger.log(`migration ${result.migrationName} applied to ${schema}`);
    }
    if (error !== undefined) {
      const failed = results.find((result) => result.status === 'Error')?.migrationName;
      logger.error(`migration ${failed ?? '(setup)'} failed in ${schema}: ${String(error)}`);
      throw new DatabaseMigrationError(schema, failed, { cause: error });
    }
    return results;
  }

  function close(): Promise<void> {
    closed ??= base.destroy();
    return closed;
  }

  return { db, pool, schema, ping, migrate, close };
}

/** True for "schema X does not exist" about a schema other than the one being migrated. */
function isForeignSchemaRace(error: unknown, schema: string): boolean {
  if (error === undefined) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  const match = /schema "([^"]+)" does not exist/.exec(typeof message === 'string' ? message : '');
  return code === '3F000' && match !== null && match[1] !== schema;
}
