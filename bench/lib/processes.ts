/**
 * Starting, observing and stopping the processes a benchmark runs against: compiled entries from
 * dist/, each with the loop probe preloaded, its log in a file, and /proc sampling of RSS and
 * of ESTABLISHED sockets the process holds to a given port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import type { ProbeSample } from '../probe/loop-probe';

export const ROOT = join(__dirname, '..', '..', '..');
export const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const LOG_DIR = process.env.BENCH_LOG_DIR ?? join('/tmp', `bench-logs-${process.pid}`);
const PROBE = join(__dirname, '..', 'probe', 'loop-probe.js');

// The local system's description (ports, env, entries) shared with `npm start`.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const system = require(join(ROOT, 'scripts', 'system.js')) as {
  PROCESSES: { name: string; entry: string; readyUrl: (env: Record<string, string>) => string }[];
  localEnvironment: (input: {
    databaseUrl: string;
    base: Record<string, string | undefined>;
  }) => Record<string, string>;
};

/** Environment of the whole local system on the bench's own ports (base + offset). */
export function benchEnvironment(base: number): Record<string, string> {
  const ports: Record<string, string> = {
    ORDER_ORCHESTRATOR_PORT: String(base),
    SESSION_MANAGER_PORT: String(base + 1),
    PAYMENT_PROCESSOR_PORT: String(base + 2),
    TPG_PORT: String(base + 3),
    SIMULATORS_CONTROL_PORT: String(base + 10),
    USER_SERVICE_SIM_PORT: String(base + 11),
    BBD_SIM_PORT: String(base + 12),
    MIDTRANS_SIM_PORT: String(base + 13),
    XENDIT_SIM_PORT: String(base + 14),
    NICEPAY_SIM_PORT: String(base + 15),
    GOOGLE_MAPS_SIM_PORT: String(base + 16),
    HERE_SIM_PORT: String(base + 17),
  };
  // Only the ports come from us: URLs set in the caller's shell must not leak into the bench.
  return { ...system.localEnvironment({ databaseUrl: DATABASE_URL, base: ports }), LOG_LEVEL: 'warn' };
}

/** The compiled entry and readiness URL of one process of scripts/system.js. */
export function systemProcess(
  name: string,
  env: Record<string, string>,
): { entry: string; readyUrl: string } {
  const proc = system.PROCESSES.find((p) => p.name === name);
  if (!proc) throw new Error(`scripts/system.js has no process '${name}'`);
  return { entry: join(ROOT, proc.entry), readyUrl: proc.readyUrl(env) };
}

export interface StartOptions {
  name: string;
  entry: string;
  env: Record<string, string>;
  readyUrl?: string;
  /** Directory for a --cpu-prof profile of this process. */
  cpuProfDir?: string;
  readyTimeoutMs?: number;
}

/** A running benchmarked process with its probe samples. */
export class BenchProcess {
  readonly samples: ProbeSample[] = [];
  exited = false;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private stopping = false;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
    readonly logFile: string,
  ) {
    child.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && (message as ProbeSample).type === 'probe') {
        this.samples.push(message as ProbeSample);
      }
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      this.exitCode = code;
      this.exitSignal = signal;
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** True when the process died without being asked to. */
  get crashed(): boolean {
    return this.exited && !this.stopping;
  }

  /** Asks the probe to exit (writes --cpu-prof), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.exited) return;
    this.stopping = true;
    const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    if (this.child.connected) this.child.send({ cmd: 'exit' });
    else this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(timer);
  }
}

/** Spawns `node -r loop-probe <entry>` and waits until readyUrl answers 2xx. */
export async function startProcess(options: StartOptions): Promise<BenchProcess> {
  mkdirSync(LOG_DIR, { recursive: true });
  const logFile = join(LOG_DIR, `${options.name}.log`);
  const args = ['-r', PROBE];
  if (options.cpuProfDir) args.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`);
  args.push(options.entry);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const proc = new BenchProcess(options.name, child, logFile);
  if (options.readyUrl) {
    const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
    for (;;) {
      if (proc.exited) throw new Error(`${options.name} exited at start; log: ${tail(logFile)}`);
      try {
        const res = await fetch(options.readyUrl, { signal: AbortSignal.timeout(1000) });
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await proc.stop(1000);
        throw new Error(
          `${options.name} not ready after ${options.readyTimeoutMs ?? 30_000} ms; log: ${tail(logFile)}`,
        );
      }
      await sleep(100);
    }
  }
  return proc;
}

/** Last lines of a log file, for error messages. */
export function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident set size of a process from /proc/<pid>/status, bytes (0 when gone). */
export function rssOf(pid: number): number {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * ESTABLISHED TCP sockets owned by `pid` whose remote port is `remotePort`: the process's socket
 * inodes (/proc/<pid>/fd) matched against /proc/<pid>/net/tcp{,6}. Counted from the client side.
 */
export function socketsTo(pid: number, remotePort: number): number {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('socket:[')) inodes.add(target.slice(8, -1));
      } catch {
        // fd closed while listing
      }
    }
  } catch {
    return 0;
  }
  const portHex = remotePort.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      if (cols[3] === '01' && cols[2].endsWith(`:${portHex}`) && inodes.has(cols[9])) count++;
    }
  }
  return count;
}

/** A fresh, unique schema name for one service in one run. */
export function freshSchema(label: string): string {
  return `bench_${label}_${randomBytes(4).toString('hex')}`;
}

/** Drops the given schemas (after the processes using them have stopped). */
export async function dropSchemas(schemas: string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** PUT/DELETE on the simulators' fault-control API. */
export async function setFault(
  controlUrl: string,
  downstream: string,
  fault: Record<string, unknown> | null,
): Promise<void> {
  const res = await fetch(`${controlUrl}/faults/${downstream}`, {
    method: fault ? 'PUT' : 'DELETE',
    headers: { 'content-type': 'application/json' },
    body: fault ? JSON.stringify(fault) : undefined,
  });
  if (!res.ok)
    throw new Error(`fault ${downstream} ${JSON.stringify(fault)}: ${res.status} ${await res.text()}`);
}

/** Prometheus text → value of the first series matching name and label subset. */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const labelText = match[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => labelText.includes(`${k}="${v}"`))) return Number(match[3]);
  }
  return undefined;
}
