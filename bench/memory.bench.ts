/**
 * Scenario 5, memory: RSS and heap of each service under a long mixed load while faults flap
 * (BBD, Midtrans, google-maps, user-service fail in staggered cycles, open timeouts shortened so
 * breakers go open → half-open → closed repeatedly). 10 minutes; BENCH_QUICK=1: 20 s.
 * Writes docs/benchmarks/memory.md and docs/benchmarks/raw/memory.json.
 * Run: npm run bench:memory
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSessions, orderRequests } from './e2e.bench';
import { fmt, mib, percentile, runLoad, windowStats } from './lib/load';
import { ROOT, rssOf, setFault, sleep } from './lib/processes';
import { startFullStack } from './lib/stacks';
import { runAsScript, type ScenarioResult } from './lib/scenario';

const QUICK = process.env.BENCH_QUICK === '1';
const DURATION_S = Number(process.env.BENCH_MEMORY_SECONDS ?? (QUICK ? 20 : 600));
const CYCLE_S = QUICK ? 8 : 40;
const OUT = join(ROOT, 'docs', 'benchmarks');
const SERVICES = ['order-orchestrator', 'session-manager', 'payment-processor', 'taxi-partner-gateway'];
const SHORT = { timeoutMs: QUICK ? 2000 : 5000 };
const FLAPS: [string, Record<string, unknown>][] = [
  ['bbd', { mode: 'error', status: 503 }],
  ['midtrans', { mode: 'error', status: 503 }],
  ['google-maps', { mode: 'error', status: 503 }],
  ['user-service', { mode: 'error', status: 503 }],
];

async function transitions(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('circuit_breaker_transitions_total{')) sum += Number(line.split(' ').pop());
  }
  return sum;
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

export async function memoryBench(): Promise<ScenarioResult> {
  mkdirSync(join(OUT, 'raw'), { recursive: true });
  const overrides = (names: string[]): string =>
    JSON.stringify(Object.fromEntries(names.map((n) => [n, SHORT])));
  const stack = await startFullStack(
    15000,
    'memory',
    {},
    {
      'taxi-partner-gateway': { BREAKER_OVERRIDES: overrides(['bbd-dispatch', 'bbd-tracking']) },
      'payment-processor': {
        BREAKER_OVERRIDES: overrides(['payment-midtrans', 'payment-xendit', 'payment-nicepay']),
      },
      'session-manager': { BREAKER_OVERRIDES: overrides(['google-maps', 'here-maps']) },
      'order-orchestrator': { BREAKER_OVERRIDES: overrides(['user-service']) },
    },
  );
  const problems: string[] = [];
  const rss: Record<string, [number, number][]> = Object.fromEntries(SERVICES.map((s) => [s, []]));
  let md = '';
  try {
    const control = `http://127.0.0.1:${stack.env.SIMULATORS_CONTROL_PORT}`;
    const sessions = await createSessions(stack.env.SESSION_MANAGER_URL, 100);
    const startedAt = Date.now();
    const endAt = startedAt + DURATION_S * 1000;
    let running = true;
    const sampler = (async () => {
      while (running) {
        const t = (Date.now() - startedAt) / 1000;
        for (const name of SERVICES) rss[name].push([t, rssOf(stack.procs[`memory-${name}`].pid)]);
        await sleep(1000);
      }
    })();
    const flapper = (async () => {
      let cycle = 0;
      while (Date.now() < endAt - CYCLE_S * 500) {
        // Each downstream fails for half a cycle, staggered by a quarter cycle.
        for (let i = 0; i < FLAPS.length && Date.now() < endAt; i++) {
          const [downstream, fault] = FLAPS[i];
          await setFault(control, downstream, fault);
          await sleep((CYCLE_S * 1000) / 8);
          await setFault(control, FLAPS[(i + FLAPS.length - 1) % FLAPS.length][0], null);
          await sleep((CYCLE_S * 1000) / 8);
        }
        cycle++;
      }
      await fetch(`${control}/faults`, { method: 'DELETE' });
      return cycle;
    })();
    let turn = 0;
    const loads = await Promise.all([
      runLoad({
        url: stack.env.ORDER_ORCHESTRATOR_URL,
        connections: 4,
        rate: QUICK ? 30 : 40,
        durationSec: DURATION_S,
        requests: orderRequests(sessions, () => (turn++ % 2 === 0 ? 'online' : 'cash')),
      }),
      runLoad({
        url: stack.env.SESSION_MANAGER_URL,
        connections: 2,
        rate: 10,
        durationSec: DURATION_S,
        requests: [
          {
            method: 'POST',
            path: '/sessions',
            setupRequest: (req) => ({
              ...req,
              body: JSON.stringify({
                userId: `u-mem-${turn++ % 500}`,
                pickup: { lat: -6.2 + (turn % 50) / 1000, lng: 106.8 },
                dropoff: { lat: -6.25, lng: 106.85 },
              }),
            }),
          },
        ],
      }),
      runLoad({
        url: stack.env.TPG_URL,
        connections: 2,
        rate: 10,
        durationSec: DURATION_S,
        requests: [{ method: 'GET', path: '/vehicles/vacant?lat=-6.2&lng=106.8&radius=3000' }],
      }),
    ]);
    const cycles = await flapper;
    running = false;
    await sampler;
    const flips: Record<string, number> = {};
    for (const name of SERVICES) flips[name] = await transitions(urlOf(stack.env, name));
    const heap: Record<string, number[]> = {};
    for (const name of SERVICES)
      heap[name] = stack.procs[`memory-${name}`].samples.map((s) => s.heapUsedBytes);
    for (const name of stack.crashed()) problems.push(`crashed: ${name}`);

    const warmFrom = DURATION_S * (QUICK ? 0.3 : 0.2);
    const lines = SERVICES.map((name) => {
      const series = rss[name];
      const warm = series
        .filter(([t]) => t >= warmFrom && t < warmFrom + Math.max(10, DURATION_S * 0.1))
        .map(([, v]) => v);
      const end = series.filter(([t]) => t >= DURATION_S * 0.9).map(([, v]) => v);
      const second = series
        .filter(([t]) => t >= DURATION_S / 2)
        .map(([t, v]) => [t / 60, v / 1024 / 1024] as [number, number]);
      const heaps = heap[name];
      const heapWarm = heaps.slice(Math.floor(heaps.length * 0.2), Math.floor(heaps.length * 0.3));
      const heapEnd = heaps.slice(Math.floor(heaps.length * 0.9));
      return `| ${name} | ${mib(percentile(warm, 50))} | ${mib(percentile(end, 50))} | ${mib(Math.max(...series.map(([, v]) => v)))} | ${fmt(slope(second), 2)} | ${mib(percentile(heapWarm, 50))} | ${mib(percentile(heapEnd, 50))} | ${flips[name]} |`;
    });
    const loadLines = loads.map((l, i) => {
      const s = windowStats(l.samples, l.startedAt, l.endedAt + 1);
      return `${['POST /orders (online/cash)', 'POST /sessions', 'GET /vehicles/vacant'][i]}: ${s.count} answers ${JSON.stringify(s.byStatus)}`;
    });
    const connectionErrors = loads.reduce((a, l) => a + l.samples.filter((s) => s.status === 0).length, 0);
    if (connectionErrors > 0) problems.push(`${connectionErrors} requests got no HTTP answer`);
    md = [
      '## Memory under mixed load with flapping breakers',
      '',
      `Command: \`npm run bench:memory\`${QUICK ? ' (BENCH_QUICK=1)' : ''}. ${DURATION_S} s of POST /orders 40/s (online/cash alternating), POST /sessions 10/s, ` +
        `GET /vehicles/vacant 10/s; BBD, Midtrans, google-maps and user-service each answer 503 for ${CYCLE_S / 4} s per ${CYCLE_S} s cycle, staggered ` +
        `(${cycles} cycles); open timeouts shortened to ${SHORT.timeoutMs} ms so the breakers go round open → half-open → closed. RSS from /proc/<pid>/status ` +
        'every second; heap from the `-r` probe. Warm = median over the window starting at 20 % of the run; end = median of the last 10 %; ' +
        'slope = least squares over the second half.',
      '',
      '| service | RSS warm MiB | RSS end MiB | RSS max MiB | RSS slope 2nd half MiB/min | heap warm MiB | heap end MiB | breaker transitions |',
      '|---|---|---|---|---|---|---|---|',
      ...lines,
      '',
      ...loadLines.map((l) => `- ${l}`),
      '',
    ].join('\n');
    writeFileSync(join(OUT, 'raw', `memory${QUICK ? '.quick' : ''}.json`), JSON.stringify({ rss, heap }));
  } finally {
    await stack.stop();
  }
  writeFileSync(join(OUT, QUICK ? 'memory.quick.md' : 'memory.md'), md);
  console.log(md);
  return { ok: problems.length === 0, problems };
}

function urlOf(env: Record<string, string>, service: string): string {
  const key = {
    'order-orchestrator': 'ORDER_ORCHESTRATOR_URL',
    'session-manager': 'SESSION_MANAGER_URL',
    'payment-processor': 'PAYMENT_PROCESSOR_URL',
    'taxi-partner-gateway': 'TPG_URL',
  }[service];
  return env[key ?? ''];
}

if (require.main === module) runAsScript(memoryBench);
