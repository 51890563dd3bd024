/**
 * Where the CPU goes per order: runs the e2e `POST /orders` load (online, then cash) against the
 * full stack and reads utime+stime from /proc before and after each row for every service, the
 * simulators, this process (autocannon) and the Postgres backends (split by application_name).
 * Prints CPU ms per order by process. Not part of `npm run bench`; a profiling helper.
 * Run: node dist/bench/e2e-cpu.js [seconds per row, default 15]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Client } from 'pg';
import { createSessions, orderRequests } from './e2e.bench';
import { windowStats, runLoad } from './lib/load';
import { DATABASE_URL, sleep } from './lib/processes';
import { startFullStack, type Stack } from './lib/stacks';

const TICK_MS = 10; // USER_HZ = 100 on Linux
/** BENCH_CPU_RATE=<orders/s>: fixed offered load (10 connections) instead of a closed loop. */
const RATE = Number(process.env.BENCH_CPU_RATE ?? 0);

function cpuTicks(pid: number, only?: 'user' | 'system'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const user = Number(fields[11]);
    const system = Number(fields[12]);
    return only === 'user' ? user : only === 'system' ? system : user + system;
  } catch {
    return 0;
  }
}

/** CPU ticks of every postgres process, by application_name of its backend (others: 'postgres (other)'). */
async function postgresTicks(client: Client): Promise<Map<string, number>> {
  const names = new Map<number, string>();
  const { rows } = await client.query<{ pid: number; application_name: string }>(
    'select pid, application_name from pg_stat_activity',
  );
  for (const row of rows) names.set(row.pid, row.application_name || '');
  const out = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (comm !== 'postgres') continue;
    const app = names.get(Number(entry));
    const key = app ? `postgres (${app})` : 'postgres (other)';
    out.set(key, (out.get(key) ?? 0) + cpuTicks(Number(entry)));
  }
  return out;
}

async function snapshot(stack: Stack, client: Client): Promise<Map<string, number>> {
  const out = await postgresTicks(client);
  for (const [name, proc] of Object.entries(stack.procs)) {
    out.set(name, cpuTicks(proc.pid));
    out.set(`${name} (kernel part)`, cpuTicks(proc.pid, 'system'));
  }
  out.set('bench (autocannon)', cpuTicks(process.pid));
  return out;
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 15);
  const stack = await startFullStack(14000, 'cpu');
  const client = new Client({ connectionString: DATABASE_URL, application_name: 'bench-cpu' });
  await client.connect();
  try {
    const url = stack.env.ORDER_ORCHESTRATOR_URL;
    const sessions = await createSessions(stack.env.SESSION_MANAGER_URL, 200);
    const online = orderRequests(sessions, () => 'online');
    await runLoad({ url, connections: 10, durationSec: 4, requests: online });
    const idleFrom = await snapshot(stack, client);
    await sleep(seconds * 1000);
    const idleTo = await snapshot(stack, client);
    console.log(`\nidle (no load) for ${seconds} s, cores used:`);
    for (const [name, ticks] of idleTo)
      console.log(
        `  ${name}: ${(((ticks - (idleFrom.get(name) ?? 0)) * TICK_MS) / 1000 / seconds).toFixed(3)}`,
      );
    for (const method of ['online', 'cash'] as const) {
      const before = await snapshot(stack, client);
      const result = await runLoad({
        url,
        connections: 10,
        ...(RATE > 0 ? { rate: RATE } : {}),
        durationSec: seconds,
        requests: orderRequests(sessions, () => method),
      });
      const after = await snapshot(stack, client);
      const stats = windowStats(result.samples, result.startedAt, result.endedAt + 1);
      const wall = (result.endedAt - result.startedAt) / 1000;
      console.log(
        `\n${method}: ${stats.count} orders in ${wall.toFixed(1)} s (${(stats.count / wall).toFixed(1)}/s), ${stats.errors} non-2xx, p50 ${stats.p50.toFixed(1)} ms, p99 ${stats.p99.toFixed(1)} ms`,
      );
      const rows = [...after.entries()]
        .map(([name, ticks]) => [name, (ticks - (before.get(name) ?? 0)) * TICK_MS] as const)
        .filter(([, ms]) => ms > 0)
        .sort((a, b) => b[1] - a[1]);
      const total = rows.filter(([name]) => !name.endsWith('(kernel part)')).reduce((a, [, ms]) => a + ms, 0);
      console.log('| process | CPU s | cores | CPU ms / order |');
      console.log('|---|---|---|---|');
      for (const [name, ms] of rows)
        console.log(
          `| ${name} | ${(ms / 1000).toFixed(1)} | ${(ms / 1000 / wall).toFixed(2)} | ${(ms / stats.count).toFixed(2)} |`,
        );
      console.log(
        `| total | ${(total / 1000).toFixed(1)} | ${(total / 1000 / wall).toFixed(2)} | ${(total / stats.count).toFixed(2)} |`,
      );
    }
  } finally {
    await client.end();
    await stack.stop();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
