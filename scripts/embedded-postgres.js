#!/usr/bin/env node
// Serves PGlite (the real Postgres engine, in-process) over the wire for the local system, in its
// own process so that the services connect to it with `pg` exactly as to a real server.
'use strict';
const path = require('node:path');

const { startEmbeddedPostgres } = require(
  path.resolve(
    __dirname,
    '..',
    'dist',
    'libs',
    'resilience',
    'src',
    'database',
    'embedded-postgres.server.js',
  ),
);

async function main() {
  const server = await startEmbeddedPostgres({
    dataDir: process.env.PGLITE_DATA_DIR || undefined,
    port: Number(process.env.PGLITE_PORT ?? 0),
    maxConnections: 64,
  });
  process.stdout.write(`EMBEDDED_POSTGRES_URL=${server.url}\n`);
  const stop = async () => {
    await server.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`embedded postgres failed: ${err.stack ?? err}\n`);
  process.exit(1);
});
