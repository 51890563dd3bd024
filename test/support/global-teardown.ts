import type { EmbeddedPostgres } from '../../libs/resilience/src/database/embedded-postgres.server';
import { EMBEDDED_POSTGRES_HANDLE } from './global-setup';
import { TEST_DATABASE_URL_ENV } from './postgres';

/** Stops the embedded server global-setup started, if any. */
export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as Record<symbol, unknown>;
  const server = holder[EMBEDDED_POSTGRES_HANDLE] as EmbeddedPostgres | undefined;
  if (!server) return;
  delete holder[EMBEDDED_POSTGRES_HANDLE];
  delete process.env[TEST_DATABASE_URL_ENV];
  await server.stop();
}
