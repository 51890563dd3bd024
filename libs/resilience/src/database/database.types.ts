import type { LoggerService } from '@nestjs/common';
import type { Kysely, Migration, MigrationResult } from 'kysely';
import type { Pool } from 'pg';

/** The part of Nest's LoggerService the data layer writes to. */
export type DatabaseLogger = Pick<LoggerService, 'log' | 'warn' | 'error'>;

export interface DatabaseOptions {
  /** Connection string, e.g. postgres://root@127.0.0.1:5432/test. */
  url: string;
  /** The service's schema; every table of `db` lives in it. Lower-case identifier. */
  schema: string;
  /** Pool size. Default 10. */
  poolMax?: number;
  /** Server-side statement timeout (ms). Default unset (no timeout). */
  statementTimeoutMs?: number;
  /**
   * Client-side deadline of one query (ms): bounds a statement on a stalled connection, which a
   * server-side statement timeout cannot see. The query fails with `Query read timeout`. Default unset.
   */
  queryTimeoutMs?: number;
  /** Time to wait for a connection from the pool or the server (ms). Default 5000. */
  connectionTimeoutMs?: number;
  /** Idle connections are closed after this (ms). Default 30 000. */
  idleTimeoutMs?: number;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
  /** Default: Nest Logger with context 'Database'. */
  logger?: DatabaseLogger;
}

/** One service's handle on its system of record. */
export interface Database<DB> {
  /** Kysely bound to `schema` (every table reference is schema-qualified). */
  readonly db: Kysely<DB>;
  readonly pool: Pool;
  readonly schema: string;
  /** True when `select 1` answers within `timeoutMs` (default 1000); never throws. */
  ping(timeoutMs?: number): Promise<boolean>;
  /**
   * Creates the schema if missing and runs the pending migrations in name order, recording them
   * in `<schema>.kysely_migration`. Safe when several processes start at once. Throws
   * DatabaseMigrationError when one fails (earlier ones in the same run stay applied).
   */
  migrate(migrations: Record<string, Migration>): Promise<MigrationResult[]>;
  /** Ends the pool; idempotent. */
  close(): Promise<void>;
}
