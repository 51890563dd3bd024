import { startEmbeddedPostgres } from '../../libs/resilience/src/database/embedded-postgres.server';
import { TEST_DATABASE_URL_ENV } from './postgres';

/** Handle kept for global-teardown, which runs in this same (parent) process. */
export const EMBEDDED_POSTGRES_HANDLE = Symbol.for('ride-resilience.test.embeddedPostgres');

/**
 * Without DATABASE_URL, starts one in-memory PGlite server for the whole jest run and publishes
 * its URL in process.env, which the test workers inherit. With DATABASE_URL, does nothing.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.DATABASE_URL) return;
  const server = await startEmbeddedPostgres({
    maxConnections: 100,
    logger: { log: () => undefined, warn: console.warn, error: console.error },
  });
  process.env[TEST_DATABASE_URL_ENV] = server.url;
  (globalThis as Record<symbol, unknown>)[EMBEDDED_POSTGRES_HANDLE] = server;
}
