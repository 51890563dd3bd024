#!/usr/bin/env node
// `npm start`: builds if needed, then runs the whole local system as separate processes —
// embedded Postgres (when DATABASE_URL is unset), the downstream simulators and the four
// services — waits for each to be ready, prints where everything listens, prefixes every log
// line, reports a process that dies, and stops everything on Ctrl-C.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const readline = require('node:readline');

const root = path.resolve(__dirname, '..');
const { PROCESSES, localEnvironment } = require('./system');

const COLOURS = [36, 33, 35, 32, 34, 91, 96];
const children = new Map();
let stopping = false;

function log(message) {
  process.stdout.write(`\x1b[1m[start]\x1b[0m ${message}\n`);
}

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, fs.statSync(full).mtimeMs);
  }
  return newest;
}

function buildIfNeeded() {
  const marker = path.join(root, 'dist', 'apps', 'order-orchestrator', 'src', 'main.js');
  const sources = Math.max(newestMtime(path.join(root, 'apps')), newestMtime(path.join(root, 'libs')));
  if (fs.existsSync(marker) && fs.statSync(marker).mtimeMs >= sources) return;
  log('building (tsc)…');
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    log('build failed');
    process.exit(result.status ?? 1);
  }
}

function run(proc, env, colour) {
  const child = spawn(process.execPath, [path.join(root, proc.entry)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[${colour}m${proc.name.padEnd(22)}\x1b[0m│ `;
  for (const stream of [child.stdout, child.stderr]) {
    readline
      .createInterface({ input: stream })
      .on('line', (line) => process.stdout.write(prefix + line + '\n'));
  }
  child.on('exit', (code, signal) => {
    children.delete(proc.name);
    if (stopping) return;
    process.stdout.write(
      `\x1b[1;31m[start] ${proc.name} DIED (${signal ?? `exit code ${code}`}); the rest keeps running — Ctrl-C to stop\x1b[0m\n`,
    );
  });
  children.set(proc.name, child);
  return child;
}

async function waitReady(proc, url, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!children.has(proc.name)) throw new Error(`${proc.name} exited before it was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${proc.name} not ready at ${url} after ${timeoutMs} ms`);
}

function startEmbeddedPostgres(colour) {
  const dataDir = path.join(root, '.data', 'pglite');
  fs.mkdirSync(dataDir, { recursive: true });
  const proc = { name: 'postgres (PGlite)', entry: 'scripts/embedded-postgres.js' };
  const child = run(
    proc,
    { PGLITE_DATA_DIR: dataDir, PGLITE_PORT: process.env.PGLITE_PORT ?? '54329' },
    colour,
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('embedded postgres did not start in 60 s')), 60_000);
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const match = /^EMBEDDED_POSTGRES_URL=(\S+)/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on('exit', () => reject(new Error('embedded postgres exited')));
  });
}

async function stopAll() {
  if (stopping) return;
  stopping = true;
  log('stopping…');
  // Services first, then the simulators and the database they need to flush into.
  for (const names of [
    PROCESSES.filter((p) => p.kind === 'service'),
    PROCESSES.filter((p) => p.kind !== 'service'),
  ]) {
    await Promise.all(
      names.map(({ name }) => {
        const child = children.get(name);
        if (!child) return undefined;
        return new Promise((resolve) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGTERM');
        });
      }),
    );
  }
  const pg = children.get('postgres (PGlite)');
  if (pg) {
    pg.kill('SIGTERM');
    await new Promise((resolve) => pg.once('exit', resolve));
  }
  log('stopped');
  process.exit(0);
}

async function main() {
  buildIfNeeded();
  process.on('SIGINT', stopAll);
  process.on('SIGTERM', stopAll);
  let databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    log('DATABASE_URL unset: starting embedded Postgres (PGlite, data in .data/pglite)…');
    databaseUrl = await startEmbeddedPostgres(COLOURS[6]);
  }
  const env = localEnvironment({ databaseUrl });
  const table = [];
  for (const [index, proc] of PROCESSES.entries()) {
    run(proc, env, COLOURS[index % COLOURS.length]);
    await waitReady(proc, proc.readyUrl(env), 120_000);
    table.push(proc);
  }
  const rows = table.flatMap((proc) => proc.endpoints(env));
  log('everything is ready:\n');
  const width = Math.max(...rows.map(([name]) => name.length));
  for (const [name, url] of rows) process.stdout.write(`    ${name.padEnd(width)}  ${url}\n`);
  process.stdout.write(
    `\n    database             ${process.env.DATABASE_URL ? 'DATABASE_URL' : `${databaseUrl} (embedded PGlite)`}\n`,
  );
  process.stdout.write(
    `    cache                ${process.env.REDIS_URL ? 'REDIS_URL' : 'in-process (REDIS_URL unset)'}\n`,
  );
  if (!process.env.OPERATOR_API_TOKEN) {
    process.stdout.write(`    operator token       ${env.OPERATOR_API_TOKEN} (local mode)\n`);
  }
  process.stdout.write(
    '\n    npm run demo     plays the outage story    npm run status   live breaker view\n\n',
  );
}

main().catch(async (err) => {
  process.stdout.write(`\x1b[1;31m[start] ${err.message}\x1b[0m\n`);
  await stopAll();
  process.exit(1);
});
