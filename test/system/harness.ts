import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import { createRequire } from 'node:module';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { Pool } from 'pg';
import { startRedisServer, type RedisServerHandle } from '../support/redis';

const ROOT = path.resolve(__dirname, '../..');

/** The parts of scripts/system.js the harness uses (the launcher's single source of wiring). */
interface SystemProcess {
  name: string;
  kind: 'simulators' | 'service';
  entry: string;
  baseUrl(env: Record<string, string>): string;
  readyUrl(env: Record<string, string>): string;
}
interface SystemModule {
  HOST: string;
  PORT_DEFAULTS: Readonly<Record<string, number>>;
  PROCESSES: SystemProcess[];
  localEnvironment(options: {
    databaseUrl: string;
    base?: Record<string, string | undefined>;
    portOffset?: number;
  }): Record<string, string>;
}
const system = createRequire(__filename)(path.join(ROOT, 'scripts/system.js')) as SystemModule;

export type ProcessName =
  | 'downstream-simulators'
  | 'payment-processor'
  | 'taxi-partner-gateway'
  | 'session-manager'
  | 'order-orchestrator';
export type ServiceName = Exclude<ProcessName, 'downstream-simulators'>;
export type Downstream = 'user-service' | 'bbd' | 'midtrans' | 'xendit' | 'nicepay' | 'google-maps' | 'here';

export const ALL_PROCESSES: readonly ProcessName[] = system.PROCESSES.map((p) => p.name as ProcessName);
export const OPERATOR_TOKEN = 'system-test-operator-token';

/** One alert as Alertmanager receives it (POST /api/v2/alerts, a JSON array). */
export interface ReceivedAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  receivedAt: number;
}

export interface HttpAnswer<T = unknown> {
  status: number;
  body: T;
  headers: Headers;
}

/** Small breaker timings so a whole chaos run fits in minutes (merged over each app's defaults). */
export const FAST_BREAKER_OVERRIDES: Record<string, Record<string, number>> = {
  'bbd-dispatch': { callTimeoutMs: 500, timeoutMs: 1500, failureThreshold: 3, minRequests: 10 },
  'bbd-tracking': { callTimeoutMs: 500, timeoutMs: 1500, failureThreshold: 3 },
  'payment-midtrans': { callTimeoutMs: 500, timeoutMs: 1500, failureThreshold: 3 },
  'payment-xendit': { callTimeoutMs: 500, timeoutMs: 1500, failureThreshold: 3 },
  'payment-nicepay': { callTimeoutMs: 500, timeoutMs: 1500, failureThreshold: 3 },
  'user-service': { callTimeoutMs: 500, timeoutMs: 1500, failureThreshold: 3 },
  'google-maps': { callTimeoutMs: 500, timeoutMs: 1500, failureThreshold: 3 },
  'here-maps': { callTimeoutMs: 500, timeoutMs: 1500, failureThreshold: 3 },
  'session-manager': { callTimeoutMs: 2500, timeoutMs: 1500, failureThreshold: 3 },
  taxipartnergateway: { callTimeoutMs: 2500, timeoutMs: 1500, failureThreshold: 3 },
  'payment-processor': { callTimeoutMs: 5000, timeoutMs: 1500, failureThreshold: 3 },
  'order-orchestrator-callbacks': { callTimeoutMs: 1000, timeoutMs: 1500, failureThreshold: 3 },
};

export interface SystemHarnessOptions {
  /** Processes to run (default: all five, in system.js order). */
  processes?: readonly ProcessName[];
  /** Extra breaker overrides merged over FAST_BREAKER_OVERRIDES. */
  breakerOverrides?: Record<string, Record<string, number>>;
  /** Extra environment for every process. */
  env?: Record<string, string>;
  /** Lines kept per process (ring buffer). */
  logLines?: number;
}

interface Running {
  child: ChildProcess;
  exited: Promise<void>;
  /** Set by kill()/stop() so an exit we caused is not reported as a crash. */
  expected: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const LOCK_DIR = path.join(os.tmpdir(), 'ride-resilience-system-test.lock');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * One whole system at a time on this machine (2 cores): jest runs the system suites in parallel
 * workers, and two systems side by side would turn CPU starvation into breaker timeouts.
 */
async function acquireMachineLock(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      writeFileSync(path.join(LOCK_DIR, 'pid'), String(process.pid));
      return;
    } catch {
      let owner = NaN;
      try {
        owner = Number(readFileSync(path.join(LOCK_DIR, 'pid'), 'utf8'));
      } catch {
        // being written or removed right now
      }
      if (Number.isInteger(owner) && owner > 0 && !alive(owner))
        rmSync(LOCK_DIR, { recursive: true, force: true });
    }
    if (Date.now() > deadline) throw new Error(`another system test held ${LOCK_DIR} for ${timeoutMs} ms`);
    await sleep(100);
  }
}

function releaseMachineLock(): void {
  try {
    if (Number(readFileSync(path.join(LOCK_DIR, 'pid'), 'utf8')) === process.pid)
      rmSync(LOCK_DIR, { recursive: true, force: true });
  } catch {
    // not ours or already gone
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}

/**
 * An offset that puts the 12 ports of system.js on free ports below the kernel's ephemeral range
 * (32768+), where outgoing connections could take them (SYSTEM_TEST_PORT_OFFSET forces one).
 */
async function pickPortOffset(): Promise<number> {
  const forced = process.env.SYSTEM_TEST_PORT_OFFSET;
  const ports = Object.values(system.PORT_DEFAULTS);
  for (let attempt = 0; attempt < 50; attempt++) {
    const offset = forced ? Number(forced) : 10_000 + 10 * Math.floor(Math.random() * 1_800);
    const free = await Promise.all(ports.map((p) => portFree(p + offset)));
    if (free.every(Boolean)) return offset;
    if (forced) throw new Error(`SYSTEM_TEST_PORT_OFFSET=${forced}: a port of the block is taken`);
  }
  throw new Error('no free port block found for the system test');
}

/** Records Alertmanager-format posts on `POST /api/v2/alerts`. */
export class AlertReceiver {
  readonly alerts: ReceivedAlert[] = [];
  private server: http.Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/api/v2/alerts') {
          try {
            const posted = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Omit<
              ReceivedAlert,
              'receivedAt'
            >[];
            for (const alert of posted) this.alerts.push({ ...alert, receivedAt: Date.now() });
          } catch {
            res.writeHead(400).end();
            return;
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Alerts for `breaker` with `severity` received at or after `since` (ms). */
  find(breaker: string, severity: string, since = 0): ReceivedAlert[] {
    return this.alerts.filter(
      (a) => a.labels.breaker === breaker && a.labels.severity === severity && a.receivedAt >= since,
    );
  }

  close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}

/** Polls `check` every 50 ms until it is truthy; throws naming `label` after `timeoutMs`. */
export async function waitFor<T>(
  label: string,
  check: () => Promise<T> | T,
  timeoutMs = 15_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
      last = value;
    } catch (err: unknown) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${label} (last: ${why})`);
    }
    await sleep(50);
  }
}

/** One HTTP call; a network error rejects (callers decide whether that is an answer). */
export async function call<T = unknown>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<HttpAnswer<T>> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // Prometheus text and other non-JSON answers stay strings.
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** Prometheus text → samples (name, labels, value). */
export function parseMetrics(
  text: string,
): Array<{ name: string; labels: Record<string, string>; value: number }> {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number }> = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/**
 * The whole local system as real child processes on an offset port block: the simulators and the
 * four services (entries, ports and wiring from scripts/system.js), each service on a fresh
 * Postgres schema, one private redis-server, fast breakers and replayers, and an alert receiver.
 */
export class SystemHarness {
  readonly alerts = new AlertReceiver();
  env: Record<string, string> = {};
  portOffset = 0;
  private redis: RedisServerHandle | undefined;
  private readonly running = new Map<ProcessName, Running>();
  private readonly logs = new Map<ProcessName, string[]>();
  private readonly schemas = new Map<ProcessName, string>();
  private readonly crashes: string[] = [];
  private readonly databaseUrl = process.env.DATABASE_URL || 'postgres://root@127.0.0.1:5432/test';
  private readonly processes: readonly ProcessName[];
  private readonly exitHook = () => this.killAllSync();
  private pool: Pool | undefined;
  private locked = false;

  constructor(private readonly options: SystemHarnessOptions = {}) {
    this.processes = options.processes ?? ALL_PROCESSES;
  }

  /** Starts Redis, the alert receiver, the simulators, then the services; waits for every /health/ready. */
  async start(): Promise<void> {
    for (const proc of system.PROCESSES) {
      const entry = path.join(ROOT, proc.entry);
      if (this.processes.includes(proc.name as ProcessName) && !existsSync(entry))
        throw new Error(`${entry} is missing: run \`npm run build\` before the system tests`);
    }
    await acquireMachineLock(6 * 60_000);
    this.locked = true;
    process.once('exit', this.exitHook);
    this.redis = await startRedisServer();
    await this.alerts.start();
    this.portOffset = await pickPortOffset();
    const run = Math.random().toString(16).slice(2, 10);
    for (const name of this.processes)
      if (name !== 'downstream-simulators')
        this.schemas.set(name, `sys_${name.replace(/-/g, '_').slice(0, 20)}_${run}`);
    this.env = {
      ...system.localEnvironment({ databaseUrl: this.databaseUrl, base: {}, portOffset: this.portOffset }),
      NODE_ENV: 'test',
      LOG_LEVEL: process.env.SYSTEM_TEST_LOG_LEVEL ?? 'log',
      REDIS_URL: this.redis.url,
      ALERT_WEBHOOK_URL: this.alerts.url,
      OPERATOR_API_TOKEN: OPERATOR_TOKEN,
      BREAKER_OVERRIDES: JSON.stringify({ ...FAST_BREAKER_OVERRIDES, ...this.options.breakerOverrides }),
      REPLAY_POLL_MS: '100',
      OUTBOX_POLL_MS: '100',
      PAYMENT_ORPHAN_GRACE_MS: '2000',
      PAYMENT_ORPHAN_REPLAY_INTERVAL_MS: '200',
      PAYMENT_IDEMPOTENCY_LEASE_MS: '3000',
      ...this.options.env,
    };
    if (this.processes.includes('downstream-simulators')) await this.launch('downstream-simulators');
    await Promise.all(this.processes.filter((n) => n !== 'downstream-simulators').map((n) => this.launch(n)));
  }

  /** Base URL of a process (the simulators' fault-control API for `downstream-simulators`). */
  url(name: ProcessName): string {
    return this.proc(name).baseUrl(this.env);
  }

  /** Base URL of a simulated downstream. */
  downstreamUrl(downstream: Downstream): string {
    const key = `${downstream.toUpperCase().replace(/-/g, '_')}_URL`;
    const value = this.env[key];
    if (!value) throw new Error(`no URL for downstream ${downstream}`);
    return value;
  }

  schema(name: ServiceName): string {
    const schema = this.schemas.get(name);
    if (!schema) throw new Error(`${name} is not part of this system`);
    return schema;
  }

  /** A pg pool on the test database (read-only checks of the services' tables). */
  db(): Pool {
    this.pool ??= new Pool({ connectionString: this.databaseUrl, max: 2 });
    return this.pool;
  }

  isRunning(name: ProcessName): boolean {
    return this.running.has(name);
  }

  /** SIGKILL to the process group of `name`; resolves once it has exited. */
  async kill(name: ProcessName): Promise<void> {
    const running = this.running.get(name);
    if (!running) return;
    running.expected = true;
    this.signal(running.child, 'SIGKILL');
    await running.exited;
  }

  /** Starts `name` again with the same environment and schema; resolves when it is ready. */
  async restart(name: ProcessName): Promise<void> {
    await this.kill(name);
    this.logLine(name, '──── harness: restart ────');
    await this.launch(name);
  }

  /** Exits nobody asked for (crashes), as text. */
  unexpectedExits(): readonly string[] {
    return this.crashes;
  }

  /** The captured log lines of one process, or of all. */
  logText(name?: ProcessName): string {
    const names = name ? [name] : [...this.logs.keys()];
    return names.map((n) => `===== ${n} =====\n${(this.logs.get(n) ?? []).join('\n')}`).join('\n');
  }

  /** Writes every captured log to stderr (call on failure). */
  printLogs(): void {
    process.stderr.write(`${this.logText()}\n`);
  }

  /** Runs `body`; on failure prints every process's logs before re-throwing. */
  async guard<T>(body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err: unknown) {
      this.printLogs();
      throw err;
    }
  }

  /** SIGTERM every process (SIGKILL after 5 s), stops Redis and the receiver, drops the schemas. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.running.entries()].map(async ([, running]) => {
        running.expected = true;
        this.signal(running.child, 'SIGTERM');
        const timer = setTimeout(() => this.signal(running.child, 'SIGKILL'), 5000);
        await running.exited;
        clearTimeout(timer);
      }),
    );
    process.removeListener('exit', this.exitHook);
    await this.redis?.stop();
    await this.alerts.close();
    await this.pool?.end().catch(() => undefined);
    this.pool = undefined;
    const pool = new Pool({ connectionString: this.databaseUrl, max: 1 });
    try {
      for (const schema of this.schemas.values())
        await pool.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await pool.end();
      if (this.locked) releaseMachineLock();
      this.locked = false;
    }
  }

  // ── helpers over the running system ──

  /** Breakers of a service as GET /breakers lists them. */
  async breakers(service: ServiceName): Promise<Array<{ name: string; state: string }>> {
    return (await call<Array<{ name: string; state: string }>>('GET', `${this.url(service)}/breakers`)).body;
  }

  async breakerState(service: ServiceName, breaker: string): Promise<string | undefined> {
    return (await this.breakers(service)).find((b) => b.name === breaker)?.state;
  }

  async metrics(service: ServiceName): Promise<ReturnType<typeof parseMetrics>> {
    return parseMetrics((await call<string>('GET', `${this.url(service)}/metrics`)).body);
  }

  /** Sum of deferred_queue_depth{queue} over `statuses`. */
  async queueDepth(
    service: ServiceName,
    queue: string,
    statuses: readonly string[] = ['pending', 'claimed', 'replaying'],
  ): Promise<number> {
    return (await this.metrics(service))
      .filter(
        (s) =>
          s.name === 'deferred_queue_depth' && s.labels.queue === queue && statuses.includes(s.labels.status),
      )
      .reduce((sum, s) => sum + s.value, 0);
  }

  /** Every deferred_queue_depth sample of a service with a non-zero value in `statuses`. */
  async busyQueues(
    service: ServiceName,
    statuses: readonly string[] = ['pending', 'claimed', 'replaying', 'failed'],
  ): Promise<string[]> {
    return (await this.metrics(service))
      .filter((s) => s.name === 'deferred_queue_depth' && statuses.includes(s.labels.status) && s.value > 0)
      .map((s) => `${service}:${s.labels.queue}:${s.labels.status}=${s.value}`);
  }

  async setFault(downstream: Downstream, fault: Record<string, unknown>): Promise<void> {
    const res = await call('PUT', `${this.url('downstream-simulators')}/faults/${downstream}`, fault);
    if (res.status !== 200)
      throw new Error(`PUT /faults/${downstream} → ${res.status} ${JSON.stringify(res.body)}`);
  }

  async clearFaults(downstream?: Downstream): Promise<void> {
    const suffix = downstream ? `/${downstream}` : '';
    const res = await call('DELETE', `${this.url('downstream-simulators')}/faults${suffix}`);
    if (res.status >= 300) throw new Error(`DELETE /faults${suffix} → ${res.status}`);
  }

  /** Every order the BBD simulator holds. */
  async bbdOrders(): Promise<Array<{ orderId: string; partnerOrderId: string; status: string }>> {
    const res = await call<{ orders: Array<{ orderId: string; partnerOrderId: string; status: string }> }>(
      'GET',
      `${this.downstreamUrl('bbd')}/v1/_orders`,
      undefined,
      { 'x-api-key': 'system-test' },
    );
    return res.body.orders;
  }

  // ── internals ──

  private proc(name: ProcessName): SystemProcess {
    const proc = system.PROCESSES.find((p) => p.name === name);
    if (!proc) throw new Error(`unknown process ${name}`);
    return proc;
  }

  private logLine(name: ProcessName, line: string): void {
    let lines = this.logs.get(name);
    if (!lines) this.logs.set(name, (lines = []));
    lines.push(line);
    if (lines.length > (this.options.logLines ?? 3000))
      lines.splice(0, lines.length - (this.options.logLines ?? 3000));
  }

  private signal(child: ChildProcess, signal: NodeJS.Signals): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  }

  private killAllSync(): void {
    for (const running of this.running.values()) this.signal(running.child, 'SIGKILL');
    if (this.locked) releaseMachineLock();
  }

  private async launch(name: ProcessName): Promise<void> {
    const proc = this.proc(name);
    const schema = this.schemas.get(name);
    const child = spawn(process.execPath, [path.join(ROOT, proc.entry)], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ...this.env,
        ...(schema ? { DATABASE_SCHEMA: schema } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group, so kill() and stop() reach anything it spawns.
      detached: true,
    });
    const running: Running = {
      child,
      expected: false,
      exited: new Promise<void>((resolve) =>
        child.once('exit', (code, signal) => {
          this.running.delete(name);
          if (!running.expected) {
            const what = `${name} exited unexpectedly (${signal ?? `code ${code}`})`;
            this.crashes.push(what);
            this.logLine(name, `──── harness: ${what} ────`);
          }
          resolve();
        }),
      ),
    };
    this.running.set(name, running);
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream?.on('data', (chunk: Buffer) => {
        const parts = (pending + chunk.toString('utf8')).split('\n');
        pending = parts.pop() ?? '';
        for (const line of parts) this.logLine(name, line);
      });
    }
    const readyUrl = proc.readyUrl(this.env);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (!this.running.has(name)) {
        throw new Error(`${name} exited before it was ready:\n${this.logText(name)}`);
      }
      try {
        const res = await fetch(readyUrl, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`${name} not ready at ${readyUrl} after 60 s:\n${this.logText(name)}`);
      await sleep(100);
    }
  }
}
