import { setMaxListeners } from 'node:events';
import type http from 'node:http';
import { Registry } from 'prom-client';
import { CircuitOpenError } from '../errors/circuit-open.error';
import { HttpClientError } from './http-client.error';
import { HttpConnectionError } from './http-connection.error';
import { HttpServerError } from './http-server.error';
import { ResilientHttpClient, type ResilientHttpClientOptions } from './resilient-http.client';
import { OpenBreaker, PassThroughBreaker } from './testing/breaker.doubles';
import { closedPort, startTestServer, waitFor, type TestServer } from './testing/test-server';

const quietLogger = { log: () => {}, error: () => {}, warn: () => {}, debug: () => {} };

async function metric(registry: Registry, name: string): Promise<number> {
  const json = await registry.getSingleMetric(name)?.get();
  return json?.values.reduce((sum, v) => sum + v.value, 0) ?? 0;
}

function reject(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

describe('ResilientHttpClient', () => {
  const servers: TestServer[] = [];
  const clients: ResilientHttpClient[] = [];
  let handler: http.RequestListener;
  let server: TestServer;

  beforeEach(async () => {
    handler = (_req, res) => res.end('{}');
    server = await startTestServer((req, res) => handler(req, res));
    servers.push(server);
  });

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  function client(overrides: Partial<ResilientHttpClientOptions> = {}): ResilientHttpClient {
    const c = new ResilientHttpClient({
      downstream: 'test-ds',
      baseUrl: server.url,
      breaker: new PassThroughBreaker(),
      logger: quietLogger,
      ...overrides,
    });
    clients.push(c);
    return c;
  }

  it('returns status, data and headers, sending query and default headers', async () => {
    handler = (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.setHeader('x-echo', String(req.headers['x-api-key']));
      res.end(JSON.stringify({ url: req.url }));
    };
    const res = await client({ headers: { 'x-api-key': 'k1' } }).get<{ url: string }>('/v1/things', {
      query: { q: 'a b', n: 2 },
    });
    expect(res.status).toBe(200);
    expect(res.data.url).toBe('/v1/things?q=a+b&n=2');
    expect(res.headers['x-echo']).toBe('k1');
  });

  it('throws HttpClientError on 4xx, counted healthy by the breaker, without secrets in the message', async () => {
    handler = (_req, res) => {
      res.statusCode = 404;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ error: 'not found' }));
    };
    const breaker = new PassThroughBreaker();
    const err = await reject(
      client({ breaker, headers: { Authorization: 'Bearer s3cr3t' } }).get('/users/1', {
        query: { api_key: 'qs3cr3t' },
      }),
    );
    expect(err).toBeInstanceOf(HttpClientError);
    expect(err).toMatchObject({ status: 404, body: { error: 'not found' }, downstream: 'test-ds' });
    expect(breaker.counts.totalSuccesses).toBe(1);
    expect(breaker.counts.totalFailures).toBe(0);
    expect(String((err as Error).message)).not.toMatch(/s3cr3t/);
    expect(JSON.stringify(err)).not.toMatch(/s3cr3t/);
  });

  it.each([408, 429])('counts %i as a failure', async (status) => {
    handler = (_req, res) => {
      res.statusCode = status;
      res.end();
    };
    const breaker = new PassThroughBreaker();
    const err = await reject(client({ breaker }).get('/x'));
    expect(err).toMatchObject({ status });
    expect(breaker.counts.totalFailures).toBe(1);
  });

  it('throws HttpServerError on 5xx, a failure for the breaker', async () => {
    handler = (_req, res) => {
      res.statusCode = 502;
      res.end('bad gateway');
    };
    const breaker = new PassThroughBreaker();
    const err = await reject(client({ breaker }).post('/pay', { a: 1 }));
    expect(err).toBeInstanceOf(HttpServerError);
    expect(err).toMatchObject({ status: 502, body: 'bad gateway', downstream: 'test-ds' });
    expect(breaker.counts.totalFailures).toBe(1);
  });

  it('reports a refused connection as not sent', async () => {
    const port = await closedPort();
    const err = await reject(client({ baseUrl: `http://127.0.0.1:${port}` }).post('/pay', {}));
    expect(err).toBeInstanceOf(HttpConnectionError);
    expect(err).toMatchObject({ kind: 'refused', requestSent: false, downstream: 'test-ds' });
  });

  it('reports a reset after sending as sent (unknown outcome)', async () => {
    handler = (req) => req.socket.destroy();
    const err = await reject(client().post('/pay', { a: 1 }));
    expect(err).toMatchObject({ kind: 'reset', requestSent: true });
    expect(server.hits).toBe(1);
  });

  it("cancels the real request on the breaker's deadline: the server sees the socket close", async () => {
    handler = () => {}; // hangs
    const breaker = new PassThroughBreaker('hang', 50);
    const c = client({ breaker });
    const closed = server.nextClose();
    const err = await reject(c.get('/slow'));
    expect(err).toBeInstanceOf(HttpConnectionError);
    expect(err).toMatchObject({ kind: 'timeout', requestSent: true });
    expect(breaker.signals[0].aborted).toBe(true);
    await closed;
    expect(server.openConnections).toBe(0);
    await waitFor(() => c.socketStats().open === 0);
    expect(c.socketStats()).toEqual({ open: 0, active: 0, free: 0, queued: 0 });
    expect(breaker.counts.totalFailures).toBe(1);
  });

  it("applies timeoutMs when the breaker has no deadline, and the caller's signal aborts", async () => {
    handler = () => {};
    const timeoutErr = await reject(client({ breaker: undefined, timeoutMs: 30 }).get('/slow'));
    expect(timeoutErr).toMatchObject({ kind: 'timeout', requestSent: true });

    const controller = new AbortController();
    const pending = reject(client().get('/slow', { signal: controller.signal }));
    await waitFor(() => server.hits === 2);
    controller.abort();
    expect(await pending).toMatchObject({ kind: 'aborted' });
    await waitFor(() => server.openConnections === 0);
  });

  it('retries idempotent requests with full-jitter exponential backoff', async () => {
    let calls = 0;
    handler = (_req, res) => {
      calls++;
      res.statusCode = calls <= 3 ? 503 : 200;
      res.end(JSON.stringify({ calls }));
    };
    const delays: number[] = [];
    const randoms = [0.5, 0.25, 1];
    const registry = new Registry();
    const c = client({
      registry,
      retry: { maxRetries: 5, baseDelayMs: 100, maxDelayMs: 300 },
      random: () => randoms.shift() ?? 0,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    const res = await c.get<{ calls: number }>('/flaky');
    expect(res.data.calls).toBe(4);
    // attempt n waits random × min(max, base × 2^n): 0.5×100, 0.25×200, 1×min(300, 400)
    expect(delays).toEqual([50, 50, 300]);
    expect(await metric(registry, 'http_client_retries_total')).toBe(3);
  });

  it('stops after maxRetries and throws the last error', async () => {
    handler = (_req, res) => {
      res.statusCode = 500;
      res.end();
    };
    const c = client({ retry: { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 1 }, sleep: async () => {} });
    expect(await reject(c.get('/down'))).toBeInstanceOf(HttpServerError);
    expect(server.hits).toBe(3);
  });

  it('does not retry non-idempotent requests unless told they are idempotent, nor plain 4xx', async () => {
    handler = (req, res) => {
      res.statusCode = req.url === '/bad' ? 400 : 503;
      res.end();
    };
    const c = client({ retry: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 1 }, sleep: async () => {} });
    await reject(c.post('/pay', {}));
    expect(server.hits).toBe(1);
    await reject(c.post('/pay', {}, { idempotent: true }));
    expect(server.hits).toBe(5);
    await reject(c.get('/bad'));
    expect(server.hits).toBe(6);
  });

  it('honours Retry-After on 429 up to maxDelayMs, and gives up on a longer one', async () => {
    let calls = 0;
    handler = (req, res) => {
      calls++;
      if (req.url === '/long' || calls === 1) {
        res.statusCode = 429;
        res.setHeader('retry-after', req.url === '/long' ? '10' : '1');
        res.end();
        return;
      }
      res.end('{}');
    };
    const delays: number[] = [];
    const c = client({
      retry: { maxRetries: 3, baseDelayMs: 10, maxDelayMs: 2_000 },
      random: () => 0.5,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    await c.get('/short');
    expect(delays).toEqual([1_000]);
    const err = await reject(c.get('/long'));
    expect(err).toMatchObject({ status: 429, retryAfterMs: 10_000 });
    expect(delays).toEqual([1_000]);
  });

  it('retries connection errors (refused)', async () => {
    const port = await closedPort();
    const sleeps: number[] = [];
    const c = client({
      baseUrl: `http://127.0.0.1:${port}`,
      retry: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 10 },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    expect(await reject(c.get('/x'))).toMatchObject({ kind: 'refused' });
    expect(sleeps).toHaveLength(2);
  });

  it('never retries a breaker rejection', async () => {
    const breaker = new OpenBreaker('down');
    const sleep = jest.fn(async () => {});
    const c = client({ breaker, retry: { maxRetries: 5, baseDelayMs: 1, maxDelayMs: 1 }, sleep });
    expect(await reject(c.get('/x'))).toBeInstanceOf(CircuitOpenError);
    expect(breaker.calls).toBe(1);
    expect(sleep).not.toHaveBeenCalled();
    expect(server.hits).toBe(0);
  });

  it('caps retries with the retry budget under an outage (100 requests → at most 20 + 3 retries)', async () => {
    handler = (_req, res) => {
      res.statusCode = 503;
      res.end();
    };
    let now = 1_000_000;
    const registry = new Registry();
    const c = client({
      registry,
      clock: () => now,
      retry: { maxRetries: 3, baseDelayMs: 1, maxDelayMs: 1 },
      sleep: async () => {},
    });
    for (let i = 0; i < 100; i++) {
      await reject(c.get('/down'));
      now += 100; // 10 s in all: inside one window
    }
    const retries = await metric(registry, 'http_client_retries_total');
    expect(retries).toBeLessThanOrEqual(23);
    expect(retries).toBeGreaterThanOrEqual(20);
    expect(server.hits).toBe(100 + retries);
    expect(await metric(registry, 'http_client_retry_budget_exhausted_total')).toBeGreaterThan(0);

    // Once the window has slid past the outage, the minimum comes back.
    now += 61_000;
    const before = server.hits;
    await reject(c.get('/down'));
    expect(server.hits - before).toBe(4);
  });

  it('keeps at most maxSockets connections to a hanging downstream (200 concurrent requests)', async () => {
    handler = () => {};
    const c = client({ maxSockets: 10 });
    const controller = new AbortController();
    setMaxListeners(250, controller.signal);
    const pending = Array.from({ length: 200 }, (_, i) =>
      reject(c.get(`/hang/${i}`, { signal: controller.signal })),
    );
    await waitFor(() => server.hits === 10);
    const stats = c.socketStats();
    expect(stats.active).toBe(10);
    expect(stats.queued).toBe(190);
    expect(server.maxConnections).toBe(10);
    controller.abort();
    const errors = await Promise.all(pending);
    expect(errors.every((e) => e instanceof HttpConnectionError && e.kind === 'aborted')).toBe(true);
    expect(server.maxConnections).toBe(10);
    expect(server.hits).toBe(10);
    await waitFor(() => server.openConnections === 0 && c.socketStats().open === 0);
    expect(c.socketStats().queued).toBe(0);
  });

  it('reuses keep-alive sockets', async () => {
    const c = client();
    for (let i = 0; i < 5; i++) await c.get('/ok');
    expect(server.maxConnections).toBe(1);
    expect(c.socketStats()).toMatchObject({ free: 1, active: 0 });
  });
});
