/**
 * Cost of DeferredQueue.enqueue against real Postgres (its own schema, dropped at the end).
 * Run: npx tsc -p tsconfig.build.json && npx tsc-alias -p tsconfig.build.json && node dist/bench/queue.bench.js
 * BENCH_DATABASE_URL overrides postgres://root@127.0.0.1:5432/test.
 */
import { createDatabase, DeferredQueue, deferredQueueMigrations, DeferredQueueTables } from '@app/resilience';
import { randomBytes } from 'node:crypto';

const URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const N = Number(process.env.BENCH_N ?? 2000);
const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

async function main(): Promise<void> {
  const schema = `bench_queue_${randomBytes(4).toString('hex')}`;
  const database = createDatabase<DeferredQueueTables>({ url: URL, schema, poolMax: 10, logger: silent });
  const rows: string[] = [];
  try {
    await database.migrate(deferredQueueMigrations());
    const queue = new DeferredQueue<{ orderId: string }>({ name: 'bench', db: database, logger: silent });
    for (let i = 0; i < 200; i++) await queue.enqueue({ key: `warm-${i}`, payload: { orderId: `w${i}` } });

    const run = async (label: string, concurrency: number, keyPrefix: string): Promise<void> => {
      let next = 0;
      const started = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next < N) {
            const i = next++;
            await queue.enqueue({ key: `${keyPrefix}-${i}`, payload: { orderId: `o${i}` }, reason: 'bench' });
          }
        }),
      );
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      rows.push(`| ${label} | ${N} | ${Math.round(N / seconds)} | ${((seconds * 1e6) / N).toFixed(0)} |`);
    };
    await run('enqueue, new key, sequential', 1, 'seq');
    await run('enqueue, new key, 8 concurrent', 8, 'par');
    await run('enqueue, existing key (idempotent hit), sequential', 1, 'seq');
  } finally {
    await database.pool.query(`drop schema if exists "${schema}" cascade`);
    await database.close();
  }
  console.log('| operation | n | ops/s | µs/op (wall / n) |');
  console.log('|---|---|---|---|');
  for (const row of rows) console.log(row);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
