/**
 * autocannon with every response recorded (completion time, latency, status), so a run can be
 * cut into phases and per-second windows afterwards.
 */
import autocannon from 'autocannon';

/** One completed (or failed) request. */
export interface Sample {
  /** Completion wall time, ms. */
  t: number;
  latencyMs: number;
  /** HTTP status; 0 for a connection error or timeout. */
  status: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Fixed offered load (requests/s over all connections); unset = closed loop as fast as possible. */
  rate?: number;
  durationSec?: number;
  amount?: number;
  timeoutSec?: number;
  requests: autocannon.Request[];
  headers?: Record<string, string>;
}

export interface LoadResult {
  samples: Sample[];
  startedAt: number;
  endedAt: number;
  errors: number;
  timeouts: number;
  /** autocannon's own summary (with its coordinated-omission correction when `rate` is set). */
  summary?: autocannon.Result;
}

/** Runs one bounded autocannon load and records every response. */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const samples: Sample[] = [];
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        ...(options.rate === undefined ? {} : { overallRate: options.rate }),
        ...(options.durationSec === undefined ? {} : { duration: options.durationSec }),
        ...(options.amount === undefined ? {} : { amount: options.amount }),
        timeout: options.timeoutSec ?? 30,
        headers: { 'content-type': 'application/json', ...(options.headers ?? {}) },
        requests: options.requests,
      },
      (err: Error | null, summary: autocannon.Result) => {
        if (err) return reject(err);
        resolve({
          samples,
          startedAt,
          endedAt: Date.now(),
          errors: summary.errors,
          timeouts: summary.timeouts,
          summary,
        });
      },
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      samples.push({ t: Date.now(), latencyMs: responseTime, status: statusCode });
    });
    instance.on('reqError', () => {
      samples.push({ t: Date.now(), latencyMs: Number.NaN, status: 0 });
    });
  });
}

/** Percentile (nearest rank) of a list of numbers; NaN for an empty list. */
export function percentile(values: number[], p: number): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export interface WindowStats {
  count: number;
  throughput: number;
  p50: number;
  p99: number;
  max: number;
  /** Requests that got no 2xx answer (5xx, 4xx, connection errors, timeouts). */
  errors: number;
  byStatus: Record<string, number>;
}

/** Statistics of the samples completed in [from, to). */
export function windowStats(samples: Sample[], from: number, to: number): WindowStats {
  const inside = samples.filter((s) => s.t >= from && s.t < to);
  const latencies = inside.map((s) => s.latencyMs);
  const byStatus: Record<string, number> = {};
  for (const s of inside) byStatus[String(s.status)] = (byStatus[String(s.status)] ?? 0) + 1;
  const seconds = Math.max(0.001, (to - from) / 1000);
  return {
    count: inside.length,
    throughput: inside.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    // A loop, not Math.max(...array): spreading a long run's samples overflows the stack.
    max: latencies.length ? latencies.reduce((m, v) => (Number.isFinite(v) && v > m ? v : m), 0) : Number.NaN,
    errors: inside.filter((s) => s.status < 200 || s.status >= 300).length,
    byStatus,
  };
}

/** Formats a number for a table: integers as is, small values with one decimal, NaN as "–". */
export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '–';
  return Math.abs(value) >= 100 ? String(Math.round(value)) : value.toFixed(digits);
}

/** Bytes → MiB with one decimal. */
export function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

export interface OpenLoadOptions {
  url: string;
  path: string;
  /** Arrivals per second, evenly spaced, independent of how long answers take (open model). */
  rate: number;
  durationSec: number;
  timeoutMs?: number;
  body: () => string;
}

/**
 * Open-model load: one request every 1000/rate ms on its own schedule, whatever the latency, over
 * a keep-alive agent without a socket limit. autocannon cannot do this: with overallRate it caps
 * connections at the rate and each connection waits for its answer, so a 5 s hang cuts the
 * offered load (coordinated omission).
 */
export async function runOpenLoad(options: OpenLoadOptions): Promise<LoadResult> {
  const { Agent, request } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
  const target = new URL(options.path, options.url);
  const samples: Sample[] = [];
  const startedAt = Date.now();
  const total = Math.round(options.rate * options.durationSec);
  const interval = 1000 / options.rate;
  let errors = 0;
  let timeouts = 0;
  const inflight = new Set<Promise<void>>();
  const fire = (): void => {
    const sent = performance.now();
    const payload = options.body();
    const done = new Promise<void>((resolve) => {
      const req = request(
        target,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          timeout: options.timeoutMs ?? 30_000,
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            samples.push({ t: Date.now(), latencyMs: performance.now() - sent, status: res.statusCode ?? 0 });
            resolve();
          });
        },
      );
      req.on('timeout', () => {
        timeouts++;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => {
        errors++;
        samples.push({ t: Date.now(), latencyMs: Number.NaN, status: 0 });
        resolve();
      });
      req.end(payload);
    });
    inflight.add(done);
    void done.then(() => inflight.delete(done));
  };
  for (let i = 0; i < total; i++) {
    const due = startedAt + i * interval;
    const wait = due - Date.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    fire();
  }
  await Promise.all([...inflight]);
  agent.destroy();
  return {
    samples,
    startedAt,
    endedAt: Date.now(),
    errors,
    timeouts,
  };
}
