import type { EnvReader } from './env-reader';

/** `DATABASE_QUERY_TIMEOUT_MS` when unset. */
export const DEFAULT_DATABASE_QUERY_TIMEOUT_MS = 5000;

/** Bounds on the system of record, so a stalled or unreachable Postgres cannot hang a request. */
export interface DatabaseBounds {
  /** Wait for a pooled connection or a new one (ms); `DATABASE_CONNECT_TIMEOUT_MS`, default 2000. */
  connectionTimeoutMs: number;
  /** Client-side deadline of one query (ms); `DATABASE_QUERY_TIMEOUT_MS`, default 5000. */
  queryTimeoutMs: number;
  /** Server-side statement_timeout (ms); `DATABASE_STATEMENT_TIMEOUT_MS`, default unset. */
  statementTimeoutMs?: number;
}

/** Settings of the HTTP edge that every service reads the same way. */
export interface ServiceEdgeConfig {
  /** `CORS_ORIGINS`, comma-separated origins; empty (default) keeps CORS off. */
  corsOrigins: string[];
  /** `SHUTDOWN_DRAIN_TIMEOUT_MS`, longest wait for in-flight requests on SIGTERM; default 10000. */
  shutdownDrainTimeoutMs: number;
  database: DatabaseBounds;
}

/**
 * Reads CORS_ORIGINS, SHUTDOWN_DRAIN_TIMEOUT_MS and the DATABASE_*_TIMEOUT_MS bounds; problems are
 * recorded in `read` like every other variable.
 */
export function readServiceEdgeConfig(read: EnvReader): ServiceEdgeConfig {
  const rawOrigins = read.optionalString('CORS_ORIGINS') ?? '';
  const corsOrigins = rawOrigins
    .split(',')
    .map((origin) => origin.trim())
    .filter((origin) => origin !== '');
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/\s*]+$/.test(origin)) {
      read.fail(`CORS_ORIGINS must list http(s) origins without paths or wildcards, got '${origin}'`);
    }
  }
  const statement = read.int('DATABASE_STATEMENT_TIMEOUT_MS', 0, { min: 0, max: 600_000 });
  return {
    corsOrigins,
    shutdownDrainTimeoutMs: read.int('SHUTDOWN_DRAIN_TIMEOUT_MS', 10_000, { min: 0, max: 600_000 }),
    database: {
      connectionTimeoutMs: read.int('DATABASE_CONNECT_TIMEOUT_MS', 2000, { min: 100, max: 600_000 }),
      queryTimeoutMs: read.int('DATABASE_QUERY_TIMEOUT_MS', DEFAULT_DATABASE_QUERY_TIMEOUT_MS, {
        min: 100,
        max: 600_000,
      }),
      ...(statement > 0 ? { statementTimeoutMs: statement } : {}),
    },
  };
}
