/**
 * Breaker cost: ns per call of a bare async function, raw opossum, our CircuitBreaker (healthy
 * and open) and cockatiel 3 as a peer, interleaved rounds in one process, median of rounds.
 * Prints a table and writes the "Breaker cost" section of BENCHMARKS.md.
 * Run: npm run bench:breaker
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { ConsecutiveBreaker, TimeoutStrategy, circuitBreaker, handleAll, timeout, wrap } from 'cockatiel';
import OpossumCircuitBreaker from 'opossum';
import { CircuitBreakerManager } from '@app/resilience';

const CALLS_PER_ROUND = Number(process.argv[2] ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 15);
const CALL_TIMEOUT_MS = 10_000;
const MAX_CONCURRENT = 1_000;
const quiet = { log: () => {}, warn: () => {}, error: () => {} };

type Target = () => Promise<unknown>;
const work = (): Promise<number> => Promise.resolve(1);

// The executor options our breaker gives opossum, so raw opossum runs under the same ones.
const opossumOptions = () => ({
  timeout: CALL_TIMEOUT_MS,
  capacity: MAX_CONCURRENT,
  enableSnapshots: false,
  rollingPercentilesEnabled: false,
});

const manager = new CircuitBreakerManager({ logger: quiet });
const healthy = manager.getOrCreate({
  name: 'bench-healthy',
  callTimeoutMs: CALL_TIMEOUT_MS,
  maxConcurrent: MAX_CONCURRENT,
  failureThreshold: 5,
});
const open = manager.getOrCreate({
  name: 'bench-open',
  callTimeoutMs: CALL_TIMEOUT_MS,
  maxConcurrent: MAX_CONCURRENT,
  failureThreshold: 1,
  timeoutMs: 3_600_000,
});
const rawOpossum = new OpossumCircuitBreaker(work, opossumOptions());
const rawOpossumSignal = new OpossumCircuitBreaker((_signal: AbortSignal) => work(), opossumOptions());
const rawOpossumOpen = new OpossumCircuitBreaker(work, opossumOptions());
rawOpossumOpen.open();
const cockatielHealthy = wrap(
  circuitBreaker(handleAll, { halfOpenAfter: 3_600_000, breaker: new ConsecutiveBreaker(5) }),
  timeout(CALL_TIMEOUT_MS, TimeoutStrategy.Cooperative),
);
const cockatielOpenBreaker = circuitBreaker(handleAll, {
  halfOpenAfter: 3_600_000,
  breaker: new ConsecutiveBreaker(1),
});

const targets: Array<[string, Target]> = [
  ['bare async fn', work],
  ['raw opossum (healthy)', () => rawOpossum.fire()],
  ['ours (healthy)', () => healthy.execute(work)],
  ['ours (healthy, fn takes its signal)', () => healthy.execute((_signal: AbortSignal) => work())],
  // What a caller of raw opossum pays for per-call cancellation (opossum's own controller is per breaker).
  [
    'raw opossum (healthy, per-call AbortController)',
    () => rawOpossumSignal.fire(new AbortController().signal),
  ],
  ['cockatiel 3 (healthy)', () => cockatielHealthy.execute(work)],
  ['raw opossum (open)', () => rawOpossumOpen.fire().catch(() => undefined)],
  ['ours (open)', () => open.execute(work).catch(() => undefined)],
  ['cockatiel 3 (open)', () => cockatielOpenBreaker.execute(work).catch(() => undefined)],
];

async function round(target: Target): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < CALLS_PER_ROUND; i++) await target();
  return Number(process.hrtime.bigint() - start) / CALLS_PER_ROUND;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  await open.execute(() => Promise.reject(new Error('trip'))).catch(() => undefined);
  await cockatielOpenBreaker.execute(() => Promise.reject(new Error('trip'))).catch(() => undefined);
  if (open.state !== 'open' || !rawOpossumOpen.opened) throw new Error('open targets are not open');

  for (const [, t] of targets) await round(t); // warm-up
  const samples = new Map<string, number[]>(targets.map(([n]) => [n, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // Interleave, rotating the order each round so no target always runs first.
    for (let k = 0; k < targets.length; k++) {
      const [name, t] = targets[(k + r) % targets.length]!;
      samples.get(name)!.push(await round(t));
    }
  }
  const ns = new Map([...samples].map(([n, xs]) => [n, median(xs)]));
  const get = (n: string): number => ns.get(n)!;
  const healthyRatio = get('ours (healthy)') / get('raw opossum (healthy)');
  const openRatio = get('ours (open)') / get('raw opossum (open)');
  const signalRatio =
    get('ours (healthy, fn takes its signal)') / get('raw opossum (healthy, per-call AbortController)');

  const rows = [...ns].map(([n, v]) => `| ${n} | ${v.toFixed(0)} |`);
  const node = process.version;
  const cpu = cpus()[0]?.model.trim() ?? 'unknown';
  const command = `npm run bench:breaker (node dist/bench/breaker.bench.js ${CALLS_PER_ROUND} ${ROUNDS})`;
  const section = [
    '## Breaker cost',
    '',
    `Machine: node ${node}, ${cpu} (${cpus().length} cores). Command: \`${command}\`.`,
    `${CALLS_PER_ROUND} sequential awaited calls per round, ${ROUNDS} interleaved rounds (order rotated), median of rounds.`,
    `Executor options everywhere: timeout ${CALL_TIMEOUT_MS} ms, capacity ${MAX_CONCURRENT}, snapshots and percentiles off.`,
    '',
    '| variant | ns/call (median) |',
    '|---|---|',
    ...rows,
    '',
    `Healthy: ours / raw opossum = **${healthyRatio.toFixed(2)}×** (target ≤ 1.25×). ` +
      `Open: ours / raw opossum = **${openRatio.toFixed(2)}×** (target ≤ 0.25×). ` +
      `With a per-call AbortSignal on both sides: **${signalRatio.toFixed(2)}×**.`,
    '',
    'The healthy rows compare like with like: raw opossum hands its action no signal, and neither does ours',
    'when `fn` declares no parameter. A `fn` that takes its signal pays for one AbortSignal per call',
    '(about 2 µs on Node 20; the contract requires one per call), and so does a raw opossum caller who wants',
    'per-call cancellation (the last healthy row). Open rejections capture no stack and skip the executor.',
    '',
  ].join('\n');
  console.log(section);

  const file = join(process.cwd(), 'BENCHMARKS.md');
  const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const pattern = /## Breaker cost\n[\s\S]*?(?=\n## |$)/;
  const next = pattern.test(existing)
    ? existing.replace(pattern, section)
    : `${existing.trimEnd()}\n\n${section}`;
  writeFileSync(file, next.endsWith('\n') ? next : `${next}\n`);

  manager.shutdown();
  rawOpossum.shutdown();
  rawOpossumSignal.shutdown();
  rawOpossumOpen.shutdown();
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
