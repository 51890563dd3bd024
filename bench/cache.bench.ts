/**
 * Cost of the stale cache's three paths: fresh hit from tier 1, fresh hit from Redis (tier 1
 * cold), and stale fallback (load rejects). Uses its own redis-server when the binary exists,
 * else REDIS_URL. Run: npx tsc -p tsconfig.build.json && npx tsc-alias -p tsconfig.build.json &&
 * node dist/bench/cache.bench.js
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';
import { createStaleCacheRedis, StaleCache } from '@app/resilience';

const TTLS = { freshTtlMs: 60_000, staleTtlMs: 600_000 };
const quiet = { log: () => {}, warn: () => {}, error: () => {} };

async function ownRedis(): Promise<{ url: string; stop: () => void }> {
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status !== 0) {
    if (!process.env.REDIS_URL) throw new Error('install redis-server or set REDIS_URL');
    return { url: process.env.REDIS_URL, stop: () => {} };
  }
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

async function measure(label: string, ops: number, fn: (i: number) => Promise<unknown>): Promise<string> {
  for (let i = 0; i < Math.min(ops, 1_000); i++) await fn(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await fn(i);
  const ns = Number(process.hrtime.bigint() - start) / ops;
  return `| ${label.padEnd(50)} | ${ops.toString().padStart(7)} | ${(ns / 1000).toFixed(2).padStart(9)} |`;
}

async function main(): Promise<void> {
  const server = await ownRedis();
  const redis = createStaleCacheRedis(server.url, { commandTimeout: 1_000, retryStrategy: () => 50 });
  const deadline = Date.now() + 5_000;
  while (redis.status !== 'ready') {
    if (Date.now() > deadline) throw new Error(`Redis at ${server.url} not ready`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const name = `bench-${process.pid}`;
  let now = Date.now();
  const cache = new StaleCache<{ id: number; name: string }>({
    name,
    redis,
    clock: () => now,
    logger: quiet,
    redisTimeoutMs: 1_000,
  });
  const value = { id: 1, name: 'Jakarta Selatan' };
  const keys = 1_000;
  for (let k = 0; k < keys; k++) await cache.set(`k${k}`, value, TTLS);

  const rows: string[] = [];
  rows.push(
    await measure('fresh hit, tier 1 (in-process LRU)', 200_000, (i) =>
      cache.getWithFallback(`k${i % keys}`, async () => value, TTLS),
    ),
  );

  const coldReplica = (): StaleCache<typeof value> =>
    new StaleCache({ name, redis, clock: () => now, logger: quiet, maxEntries: 1, redisTimeoutMs: 1_000 });
  const replica = coldReplica(); // maxEntries 1 and cycling keys: every lookup misses tier 1
  rows.push(
    await measure('fresh hit, tier 2 (Redis, tier 1 cold)', 20_000, (i) =>
      replica.getWithFallback(`k${i % keys}`, async () => value, TTLS),
    ),
  );

  now += TTLS.freshTtlMs + 1; // everything is stale now
  const failing = () => Promise.reject(new Error('downstream down'));
  rows.push(
    await measure('stale fallback, tier 1 (load rejects)', 200_000, (i) =>
      cache.getWithFallback(`k${i % keys}`, failing, TTLS),
    ),
  );
  const staleReplica = coldReplica();
  rows.push(
    await measure('stale fallback, tier 2 (load rejects, tier 1 cold)', 20_000, (i) =>
      staleReplica.getWithFallback(`k${i % keys}`, failing, TTLS),
    ),
  );

  console.log(`StaleCache, Redis ${server.url}, Node ${process.version}`);
  console.log('| path                                               |     ops |  µs / op |');
  console.log('|----------------------------------------------------|---------|----------|');
  rows.forEach((row) => console.log(row));

  for (let k = 0; k < keys; k++) await cache.delete(`k${k}`);
  redis.disconnect();
  server.stop();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
