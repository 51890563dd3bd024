import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';
import { createDatabase, Database, DatabaseOptions } from '../../libs/resilience/src/database';

/** Set by global-setup when it started the embedded server for this jest run. */
export const TEST_DATABASE_URL_ENV = 'TEST_DATABASE_URL';

/** DATABASE_URL when set (CI, this machine), else the embedded PGlite server the global setup started. */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL || process.env[TEST_DATABASE_URL_ENV];
  if (!url) {
    throw new Error(
      'No Postgres for tests: set DATABASE_URL (e.g. postgres://root@127.0.0.1:5432/test) or run jest with test/support/global-setup.ts',
    );
  }
  return url;
}

/**
 * `describe` on a real Postgres server; on the embedded PGlite engine (no DATABASE_URL) a skipped
 * describe that says why. For suites that need several independent backend sessions: PGlite runs
 * every connection in one session, so a stalled connection or a long transaction there holds up
 * every other suite of the run.
 */
export function describeOnRealPostgres(reason: string): jest.Describe {
  if (process.env.DATABASE_URL) return describe;
  console.warn(`skipped without DATABASE_URL (embedded PGlite): ${reason}`);
  return describe.skip;
}

/** A fresh, valid schema name: `<prefix>_<random>`, lower-case. */
export function createTestSchemaName(prefix = 'test'): string {
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 40);
  return `${/^[a-z_]/.test(clean) ? clean : `t_${clean}`}_${randomBytes(6).toString('hex')}`;
}

export interface TestDatabase<DB> extends Database<DB> {
  /** Closes the pool but keeps the schema (to reopen it, e.g. a simulated restart). */
  closeKeepingSchema(): Promise<void>;
  /** Drops the schema (CASCADE), then closes the pool. */
  close(): Promise<void>;
}

/** A Database on a new random schema (created now) that is dropped when closed. */
export async function createTestDatabase<DB>(
  prefix: string,
  options: Partial<Omit<DatabaseOptions, 'url'>> = {},
): Promise<TestDatabase<DB>> {
  const url = testDatabaseUrl();
  const schema = options.schema ?? createTestSchemaName(prefix);
  const database = createDatabase<DB>({ poolMax: 5, ...options, url, schema });
  await database.pool.query(`create schema if not exists "${schema}"`);
  return {
    ...database,
    closeKeepingSchema: () => database.close(),
    close: async () => {
      try {
        await dropSchema(url, schema);
      } finally {
        await database.close();
      }
    },
  };
}

/** Drops a schema on its own short-lived connection (works after the owning pool is closed). */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    await pool.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await pool.end();
  }
}
