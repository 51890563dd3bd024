/**
 * `npm run bench` (everything, ~10 min) and `npm run bench:quick` (BENCH_QUICK=1, < 2 min, CI
 * smoke). Runs the breaker, cache and queue micro-benchmarks as child processes, then the
 * cascade, recovery, end-to-end and memory scenarios; writes docs/benchmarks/summary(.quick).md.
 * Exits non-zero only on a crash or a broken-code error rate, never on a timing.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cascadeBench } from './cascade.bench';
import { e2eBench } from './e2e.bench';
import { ROOT } from './lib/processes';
import { memoryBench } from './memory.bench';
import { recoveryBench } from './recovery.bench';
import type { ScenarioResult } from './lib/scenario';

const QUICK = process.env.BENCH_QUICK === '1';
const OUT = join(ROOT, 'docs', 'benchmarks');
const ONLY = process.argv[2];

interface Outcome {
  name: string;
  ok: boolean;
  seconds: number;
  problems: string[];
}

/** Runs a compiled micro-benchmark; the breaker one writes BENCHMARKS.md into its cwd, so it gets a scratch cwd. */
function micro(name: string, file: string, args: string[], resultFile: string): Outcome {
  const started = Date.now();
  const cwd = mkdtempSync(join(tmpdir(), 'bench-'));
  const result = spawnSync(process.execPath, [join(__dirname, file), ...args], {
    cwd,
    encoding: 'utf8',
    env: process.env,
    timeout: 300_000,
  });
  process.stdout.write(result.stdout ?? '');
  process.stderr.write(result.stderr ?? '');
  const ok = result.status === 0;
  let text = result.stdout ?? '';
  try {
    text = readFileSync(join(cwd, 'BENCHMARKS.md'), 'utf8').replace(/^# Benchmarks\n+/, '');
  } catch {
    // only the breaker bench writes a file
  }
  writeFileSync(join(OUT, resultFile), `${text.trimEnd()}\n`);
  return {
    name,
    ok,
    seconds: (Date.now() - started) / 1000,
    problems: ok ? [] : [`${file} exited ${result.status ?? result.signal}`],
  };
}

async function scenario(name: string, run: () => Promise<ScenarioResult>): Promise<Outcome> {
  const started = Date.now();
  console.log(`\n=== ${name} ===`);
  try {
    const { ok, problems } = await run();
    return { name, ok, problems, seconds: (Date.now() - started) / 1000 };
  } catch (err: unknown) {
    return {
      name,
      ok: false,
      problems: [err instanceof Error ? err.message : String(err)],
      seconds: (Date.now() - started) / 1000,
    };
  }
}

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const outcomes: Outcome[] = [];
  const suffix = QUICK ? '.quick' : '';
  const want = (name: string): boolean => !ONLY || ONLY === name;
  if (want('breaker'))
    outcomes.push(
      micro(
        'breaker cost',
        'breaker.bench.js',
        QUICK ? ['2000', '3'] : ['20000', '15'],
        `breaker-cost${suffix}.md`,
      ),
    );
  if (want('cache') && !QUICK) outcomes.push(micro('stale cache', 'cache.bench.js', [], 'cache.md'));
  if (want('queue') && !QUICK) outcomes.push(micro('deferred queue', 'queue.bench.js', [], 'queue.md'));
  if (want('cascade')) outcomes.push(await scenario('cascade', cascadeBench));
  if (want('recovery')) outcomes.push(await scenario('recovery', recoveryBench));
  if (want('e2e')) outcomes.push(await scenario('e2e', e2eBench));
  if (want('memory')) outcomes.push(await scenario('memory', memoryBench));

  const summary = [
    `# Benchmark run${QUICK ? ' (quick)' : ''}, ${new Date().toISOString()}`,
    '',
    '| scenario | ok | seconds | problems |',
    '|---|---|---|---|',
    ...outcomes.map(
      (o) => `| ${o.name} | ${o.ok ? 'yes' : 'NO'} | ${o.seconds.toFixed(0)} | ${o.problems.join('; ')} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(join(OUT, `summary${suffix}.md`), summary);
  console.log(`\n${summary}`);
  process.exitCode = outcomes.every((o) => o.ok) ? 0 : 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
