import { CircuitBreakerManager } from '../breaker/circuit-breaker-manager';
import { CircuitOpenError } from '../errors/circuit-open.error';
import { StaleCache } from '../cache/stale.cache';
import { failover } from '../failover/failover';
import { HttpClientError } from './http-client.error';
import { HttpConnectionError } from './http-connection.error';
import { ResilientHttpClient } from './resilient-http.client';
import { startTestServer, type TestServer } from './testing/test-server';

const quiet = { log: () => {}, error: () => {}, warn: () => {}, debug: () => {} };

/** The building blocks against the real CircuitBreaker (not a double). */
describe('ResilientHttpClient, StaleCache and failover with the real CircuitBreaker', () => {
  let server: TestServer;
  let status = 200;
  let hang = false;
  let now = 1_000_000;
  const clients: ResilientHttpClient[] = [];

  beforeEach(async () => {
    status = 200;
    hang = false;
    server = await startTestServer((_req, res) => {
      if (hang) return;
      res.statusCode = status;
      res.end(JSON.stringify({ status }));
    });
  });

  afterEach(async () => {
    clients.splice(0).forEach((c) => c.close());
    await server.close();
  });

  function setup(callTimeoutMs?: number) {
    const manager = new CircuitBreakerManager({ logger: quiet, clock: () => now });
    const breaker = manager.getOrCreate({
      name: `ds-${Math.random()}`,
      failureThreshold: 3,
      timeoutMs: 10_000,
      callTimeoutMs,
    });
    const client = new ResilientHttpClient({ downstream: 'ds', baseUrl: server.url, breaker, logger: quiet });
    clients.push(client);
    return { breaker, client };
  }

  it('counts 4xx as healthy and 5xx as failures, then rejects without touching the server', async () => {
    const { breaker, client } = setup();
    status = 404;
    for (let i = 0; i < 5; i++) await expect(client.get('/x')).rejects.toBeInstanceOf(HttpClientError);
    expect(breaker.state).toBe('closed');
    expect(breaker.counts.totalSuccesses).toBe(5);
    status = 503;
    for (let i = 0; i < 3; i++) await expect(client.get('/x')).rejects.toMatchObject({ status: 503 });
    expect(breaker.state).toBe('open');
    const hits = server.hits;
    await expect(client.get('/x')).rejects.toBeInstanceOf(CircuitOpenError);
    expect(server.hits).toBe(hits);
  });

  it("the breaker's callTimeoutMs closes the real socket and counts a failure", async () => {
    const { breaker, client } = setup(40);
    hang = true;
    const closed = server.nextClose();
    const err = await client.get('/slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpConnectionError);
    expect(err).toMatchObject({ kind: 'timeout', requestSent: true });
    await closed;
    expect(breaker.counts.totalFailures).toBe(1);
  });

  it('a stale cache serves stale while the real breaker is open; failover skips it', async () => {
    const { breaker, client } = setup();
    const cache = new StaleCache<{ status: number }>({ name: 'c', clock: () => now, logger: quiet });
    const ttls = { freshTtlMs: 1_000, staleTtlMs: 60_000 };
    const load = async () => (await client.get<{ status: number }>('/v')).data;
    await cache.getWithFallback('k', load, ttls);
    status = 500;
    for (let i = 0; i < 3; i++) await client.get('/v').catch(() => undefined);
    expect(breaker.state).toBe('open');
    now += 2_000;
    expect(await cache.getWithFallback('k', load, ttls)).toMatchObject({
      source: 'stale',
      value: { status: 200 },
    });

    const result = await failover(
      [
        { name: 'primary', breaker, call: async () => 'primary' },
        { name: 'backup', breaker: setup().breaker, call: async () => 'backup' },
      ],
      { group: 'g' },
    );
    expect(result.value).toBe('backup');
    expect(result.attempts[0]).toMatchObject({ provider: 'primary', outcome: 'skipped' });
  });
});
