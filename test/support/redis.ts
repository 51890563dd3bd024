import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net, { type AddressInfo } from 'node:net';

/** A private redis-server for one suite: isolated from the shared 6379, safe to kill. */
export interface RedisServerHandle {
  url: string;
  port: number;
  /** Graceful shutdown (SIGTERM); resolves when the process has exited. */
  stop(): Promise<void>;
  /** Abrupt death (SIGKILL), like a crashed Redis; resolves when the process has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence); resolves when it answers PING. */
  restart(): Promise<void>;
}

const HOW_TO_GET_REDIS =
  'Redis is needed for these tests: install redis-server (e.g. `apt-get install redis-server` or ' +
  '`brew install redis`) so suites can start their own, or set REDIS_URL to a Redis they may use.';

/** Whether the `redis-server` binary is on PATH. */
export function hasRedisServerBinary(): boolean {
  const probe = spawnSync('redis-server', ['--version'], { stdio: 'ignore' });
  return probe.status === 0;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(200, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Servers still running; killed when the test process exits, even through jest's --forceExit. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

/** Spawns `redis-server --port <free> --save "" --appendonly no` and waits until it answers PING. */
export async function startRedisServer(): Promise<RedisServerHandle> {
  if (!hasRedisServerBinary()) throw new Error(HOW_TO_GET_REDIS);
  const port = await freePort();
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: 'ignore' },
    );
    child = proc;
    running.add(proc);
    proc.once('exit', () => running.delete(proc));
    const deadline = Date.now() + 10_000;
    while (!(await ping(port))) {
      if (proc.exitCode !== null)
        throw new Error(`redis-server on port ${port} exited with ${proc.exitCode}`);
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING in 10 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const end = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    if (!proc) return;
    child = undefined;
    proc.kill(signal);
    await exited(proc);
  };

  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    restart: async () => {
      await end('SIGKILL');
      await launch();
    },
  };
}

/** A Redis URL for a suite, with `release()` to call in afterAll. */
export interface TestRedis {
  url: string;
  /** Present when the suite got its own server. */
  server?: RedisServerHandle;
  release(): Promise<void>;
}

/**
 * Own redis-server when the binary exists (isolated, killable), else REDIS_URL; neither → throws
 * saying how to get Redis. Suites sharing REDIS_URL must namespace their keys and never flush.
 */
export async function testRedisUrl(): Promise<TestRedis> {
  if (hasRedisServerBinary()) {
    const server = await startRedisServer();
    return { url: server.url, server, release: () => server.stop() };
  }
  const url = process.env.REDIS_URL;
  if (url) return { url, release: async () => {} };
  throw new Error(HOW_TO_GET_REDIS);
}
