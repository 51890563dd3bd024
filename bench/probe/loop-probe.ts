/**
 * Preload for benchmarked processes (`node -r dist/bench/probe/loop-probe.js <entry>`): samples
 * event-loop delay (perf_hooks.monitorEventLoopDelay) and memory every BENCH_PROBE_MS (default
 * 500 ms) and sends each sample to the parent over IPC. The IPC message `{ cmd: 'exit' }` ends the
 * process with exit code 0, so `--cpu-prof` profiles are written (a signal would skip them).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

/** One probe sample, as sent to the parent. */
export interface ProbeSample {
  type: 'probe';
  /** Wall clock of the sample, ms. */
  t: number;
  eldP50Ms: number;
  eldP99Ms: number;
  eldMaxMs: number;
  rssBytes: number;
  heapUsedBytes: number;
}

function startProbe(): void {
  if (typeof process.send !== 'function') return;
  const everyMs = Number(process.env.BENCH_PROBE_MS ?? 500);
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  const timer = setInterval(() => {
    const memory = process.memoryUsage();
    const sample: ProbeSample = {
      type: 'probe',
      t: Date.now(),
      eldP50Ms: histogram.percentile(50) / 1e6,
      eldP99Ms: histogram.percentile(99) / 1e6,
      eldMaxMs: histogram.max / 1e6,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
    };
    histogram.reset();
    if (process.connected) process.send?.(sample);
  }, everyMs);
  timer.unref();
  process.on('message', (message: unknown) => {
    if (typeof message === 'object' && message !== null && (message as { cmd?: unknown }).cmd === 'exit') {
      process.exit(0);
    }
  });
  // The IPC channel must not keep the process alive on its own.
  process.channel?.unref();
}

startProbe();
