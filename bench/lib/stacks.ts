/** The process sets the scenarios run against: TPG alone (with BBD) and the whole system. */
import { join } from 'node:path';
import {
  benchEnvironment,
  dropSchemas,
  freshSchema,
  startProcess,
  systemProcess,
  type BenchProcess,
} from './processes';

export interface Stack {
  env: Record<string, string>;
  procs: Record<string, BenchProcess>;
  schemas: string[];
  /** Every process that died on its own. */
  crashed(): string[];
  stop(): Promise<void>;
}

async function stopAll(procs: BenchProcess[], schemas: string[]): Promise<void> {
  // Callers first, so nobody sees its downstream vanish mid-call.
  for (const proc of [...procs].reverse()) await proc.stop();
  await dropSchemas(schemas);
}

function makeStack(env: Record<string, string>, started: BenchProcess[], schemas: string[]): Stack {
  return {
    env,
    procs: Object.fromEntries(started.map((p) => [p.name, p])),
    schemas,
    crashed: () => started.filter((p) => p.crashed).map((p) => `${p.name} (${p.exitSignal ?? p.exitCode})`),
    stop: () => stopAll(started, schemas),
  };
}

/** Starts processes in order; on a failure stops what was started and drops the schemas. */
async function startInOrder(
  env: Record<string, string>,
  schemas: string[],
  specs: (() => Promise<BenchProcess>)[],
): Promise<Stack> {
  const started: BenchProcess[] = [];
  try {
    for (const spec of specs) started.push(await spec());
  } catch (err: unknown) {
    await stopAll(started, schemas);
    throw err;
  }
  return makeStack(env, started, schemas);
}

function startSimulators(env: Record<string, string>, label: string): Promise<BenchProcess> {
  const sims = systemProcess('downstream-simulators', env);
  return startProcess({ name: `${label}-simulators`, entry: sims.entry, readyUrl: sims.readyUrl, env });
}

/**
 * Simulators + an event sink standing in for the orchestrator + TPG (fresh schema), on ports
 * `base`…`base+20`. `tpgEnv` adds or overrides TPG variables (BREAKERS_DISABLED, BREAKER_OVERRIDES…).
 */
export function startTpgStack(
  base: number,
  label: string,
  tpgEnv: Record<string, string>,
  cpuProfDir?: string,
): Promise<Stack> {
  const env = benchEnvironment(base);
  const sinkPort = base + 20;
  env.ORDER_ORCHESTRATOR_URL = `http://127.0.0.1:${sinkPort}`;
  const schema = freshSchema(`tpg_${label.replace(/[^a-z0-9]/g, '')}`);
  const tpg = systemProcess('taxi-partner-gateway', env);
  return startInOrder(
    env,
    [schema],
    [
      () => startSimulators(env, label),
      () =>
        startProcess({
          name: `${label}-sink`,
          entry: join(__dirname, '..', 'support', 'event-sink.js'),
          env: { ...env, BENCH_SINK_PORT: String(sinkPort) },
          readyUrl: `http://127.0.0.1:${sinkPort}/health/live`,
        }),
      () =>
        startProcess({
          name: `${label}-tpg`,
          entry: tpg.entry,
          readyUrl: tpg.readyUrl,
          env: { ...env, DATABASE_SCHEMA: schema, ...tpgEnv },
          cpuProfDir,
        }),
    ],
  );
}

/**
 * Services to profile and where: BENCH_CPU_PROF_DIR=<dir> writes a --cpu-prof profile of every
 * service named in BENCH_CPU_PROF_SERVICES (comma separated, default all four) into <dir>.
 */
function cpuProfDirFor(name: string): string | undefined {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  if (!dir) return undefined;
  const only = process.env.BENCH_CPU_PROF_SERVICES;
  if (
    only &&
    !only
      .split(',')
      .map((s) => s.trim())
      .includes(name)
  )
    return undefined;
  return dir;
}

/**
 * NODE_OPTIONS for chosen services: BENCH_NODE_OPTIONS (e.g. `--heapsnapshot-signal=SIGUSR2
 * --diagnostic-dir=/tmp/heap`) goes to every service named in BENCH_NODE_OPTIONS_SERVICES
 * (comma separated, default all four).
 */
function nodeOptionsFor(name: string): Record<string, string> {
  const options = process.env.BENCH_NODE_OPTIONS;
  if (!options) return {};
  const only = process.env.BENCH_NODE_OPTIONS_SERVICES;
  if (
    only &&
    !only
      .split(',')
      .map((s) => s.trim())
      .includes(name)
  )
    return {};
  return { NODE_OPTIONS: options };
}

/** Simulators and the four services, each service on its own fresh schema. */
export function startFullStack(
  base: number,
  label: string,
  extraEnv: Record<string, string> = {},
  perService: Record<string, Record<string, string>> = {},
): Promise<Stack> {
  const env = { ...benchEnvironment(base), ...extraEnv };
  const schemas: Record<string, string> = {
    'payment-processor': freshSchema('pay'),
    'taxi-partner-gateway': freshSchema('tpg'),
    'order-orchestrator': freshSchema('orders'),
  };
  const service = (name: string) => (): Promise<BenchProcess> => {
    const proc = systemProcess(name, env);
    const schema = schemas[name];
    return startProcess({
      name: `${label}-${name}`,
      entry: proc.entry,
      readyUrl: proc.readyUrl,
      env: {
        ...env,
        ...(schema ? { DATABASE_SCHEMA: schema } : {}),
        ...nodeOptionsFor(name),
        ...(perService[name] ?? {}),
      },
      readyTimeoutMs: 40_000,
      cpuProfDir: cpuProfDirFor(name),
    });
  };
  return startInOrder(env, Object.values(schemas), [
    () => startSimulators(env, label),
    service('payment-processor'),
    service('taxi-partner-gateway'),
    service('session-manager'),
    service('order-orchestrator'),
  ]);
}
