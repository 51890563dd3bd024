import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import {
  startRedisServer,
  testRedisUrl,
  type RedisServerHandle,
  type TestRedis,
} from '../../../../test/support/redis';
import { PassThroughBreaker } from '../http/testing/breaker.doubles';
import { createStaleCacheRedis, StaleCache, type StaleCacheOptions } from './stale.cache';

const TTLS = { freshTtlMs: 5_000, staleTtlMs: 60_000 };

async function metric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const json = await registry.getSingleMetric(name)?.get();
  return (
    json?.values
      .filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))
      .reduce((sum, v) => sum + v.value, 0) ?? 0
  );
}

async function connected(redis: Redis): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (redis.status !== 'ready') {
    if (Date.now() > deadline) throw new Error(`redis not ready: ${redis.status}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const fail = (message: string) => () => Promise.reject(new Error(message));

describe('StaleCache (real Redis)', () => {
  let shared: TestRedis;
  const clients: Redis[] = [];
  let redis: Redis;
  let now: number;
  let registry: Registry;
  let name: string;
  let seq = 0;
  const logger = { log: jest.fn(), warn: jest.fn(), error: jest.fn(), debug: jest.fn() };

  async function client(url: string): Promise<Redis> {
    const c = createStaleCacheRedis(url);
    clients.push(c);
    await connected(c);
    return c;
  }

  function cache(overrides: Partial<StaleCacheOptions<string>> = {}): StaleCache<string> {
    return new StaleCache<string>({ name, redis, clock: () => now, registry, logger, ...overrides });
  }

  beforeAll(async () => {
    shared = await testRedisUrl();
    redis = await client(shared.url);
  });

  afterAll(async () => {
    clients.forEach((c) => c.disconnect());
    await shared.release();
  });

  beforeEach(() => {
    now = 1_700_000_000_000;
    registry = new Registry();
    name = `cache-${process.pid}-${++seq}`;
    jest.clearAllMocks();
  });

  it('serves fresh, reloads when not fresh, falls back to stale, and propagates the error with no stale copy', async () => {
    const c = cache();
    const load = jest.fn(async () => 'v1');
    expect(await c.getWithFallback('k', load, TTLS)).toEqual({
      value: 'v1',
      stale: false,
      source: 'loaded',
      ageMs: 0,
    });
    const pttl = await redis.pttl(`stale-cache:${name}:k`);
    expect(pttl).toBeGreaterThan(50_000);
    expect(pttl).toBeLessThanOrEqual(60_000);

    now += 1_000;
    expect(await c.getWithFallback('k', load, TTLS)).toEqual({
      value: 'v1',
      stale: false,
      source: 'fresh',
      ageMs: 1_000,
    });
    expect(load).toHaveBeenCalledTimes(1);

    now += 5_000;
    load.mockResolvedValueOnce('v2');
    expect(await c.getWithFallback('k', load, TTLS)).toMatchObject({ value: 'v2', source: 'loaded' });

    now += 10_000;
    expect(await c.getWithFallback('k', fail('down'), TTLS)).toEqual({
      value: 'v2',
      stale: true,
      source: 'stale',
      ageMs: 10_000,
    });

    now += 60_000; // past the stale TTL: nothing to fall back on
    const original = new Error('still down');
    await expect(c.getWithFallback('k', () => Promise.reject(original), TTLS)).rejects.toBe(original);
    await expect(c.getWithFallback('other', fail('never loaded'), TTLS)).rejects.toThrow('never loaded');

    expect(await metric(registry, 'stale_cache_lookups_total', { cache: name, kind: 'fresh' })).toBe(1);
    expect(await metric(registry, 'stale_cache_lookups_total', { cache: name, kind: 'miss' })).toBe(4);
    expect(await metric(registry, 'stale_cache_lookups_total', { cache: name, kind: 'stale' })).toBe(1);
    expect(await metric(registry, 'stale_cache_redis_errors_total')).toBe(0);
  });

  it('loads once for 50 concurrent misses of one key (single flight), success or failure', async () => {
    const c = cache();
    let release!: (v: string) => void;
    const load = jest.fn(() => new Promise<string>((resolve) => (release = resolve)));
    const pending = Array.from({ length: 50 }, () => c.getWithFallback('hot', load, TTLS));
    await new Promise((resolve) => setTimeout(resolve, 20));
    release('once');
    const results = await Promise.all(pending);
    expect(load).toHaveBeenCalledTimes(1);
    expect(results.every((r) => r.value === 'once' && r.source === 'loaded')).toBe(true);

    now += 10_000;
    const failing = jest.fn(
      () => new Promise<string>((_, reject) => setTimeout(() => reject(new Error('x')), 10)),
    );
    const stale = await Promise.all(
      Array.from({ length: 50 }, () => c.getWithFallback('hot', failing, TTLS)),
    );
    expect(failing).toHaveBeenCalledTimes(1);
    expect(stale.every((r) => r.stale && r.value === 'once')).toBe(true);
  });

  it('shares entries between two replicas through Redis', async () => {
    const a = cache();
    const b = cache();
    await a.getWithFallback('k', async () => 'from-a', TTLS);
    const loadB = jest.fn(async () => 'from-b');
    now += 2_000;
    expect(await b.getWithFallback('k', loadB, TTLS)).toEqual({
      value: 'from-a',
      stale: false,
      source: 'fresh',
      ageMs: 2_000,
    });
    expect(loadB).not.toHaveBeenCalled();

    // A replica that never saw the key serves A's copy as stale when its own load fails.
    const c = cache();
    now += 20_000;
    expect(await c.getWithFallback('k', fail('down'), TTLS)).toMatchObject({
      value: 'from-a',
      source: 'stale',
    });
  });

  it('survives a process restart: a new instance on the same Redis still serves stale', async () => {
    await cache().getWithFallback('k', async () => 'before restart', TTLS);
    now += 30_000;
    const restarted = cache();
    expect(await restarted.getWithFallback('k', fail('down'), TTLS)).toEqual({
      value: 'before restart',
      stale: true,
      source: 'stale',
      ageMs: 30_000,
    });
  });

  it('serves stale when load hangs and its breaker times out', async () => {
    const c = cache();
    await c.getWithFallback('k', async () => 'old', TTLS);
    now += 10_000;
    const breaker = new PassThroughBreaker('slow-downstream', 30);
    const hanging = () =>
      breaker.execute(
        (signal) =>
          new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      );
    expect(await c.getWithFallback('k', hanging, TTLS)).toMatchObject({
      value: 'old',
      stale: true,
      source: 'stale',
    });
    expect(breaker.signals[0].aborted).toBe(true);
  });

  it('peeks, sets and deletes in both tiers', async () => {
    const a = cache();
    const b = cache();
    expect(await a.get('k')).toBeUndefined();
    await a.set('k', 'set', TTLS);
    expect(await b.get('k')).toEqual({ value: 'set', stale: false, ageMs: 0 });
    now += 6_000;
    expect(await b.get('k')).toEqual({ value: 'set', stale: true, ageMs: 6_000 });
    await a.delete('k');
    expect(await a.get('k')).toBeUndefined();
    expect(await redis.exists(`stale-cache:${name}:k`)).toBe(0);
  });

  it('works as tier 1 only without Redis, bounded by maxEntries', async () => {
    const c = cache({ redis: undefined, maxEntries: 2 });
    await c.getWithFallback('a', async () => 'A', TTLS);
    await c.getWithFallback('b', async () => 'B', TTLS);
    await c.getWithFallback('c', async () => 'C', TTLS);
    now += 10_000;
    expect(await c.getWithFallback('c', fail('down'), TTLS)).toMatchObject({ value: 'C', stale: true });
    await expect(c.getWithFallback('a', fail('evicted'), TTLS)).rejects.toThrow('evicted');
  });

  it('bounds a slow Redis: calls finish within the Redis timeout and count the errors', async () => {
    const own = await startRedisServer();
    try {
      const slowRedis = await client(own.url);
      const admin = await client(own.url);
      const c = cache({ redis: slowRedis, redisTimeoutMs: 30 });
      await admin.call('CLIENT', 'PAUSE', '400', 'ALL');
      expect(await c.getWithFallback('k', async () => 'v', TTLS)).toMatchObject({
        value: 'v',
        source: 'loaded',
      });
      expect(await metric(registry, 'stale_cache_redis_errors_total', { cache: name })).toBe(2); // get + set both timed out: without the bound they would succeed after the pause
    } finally {
      clients.splice(1).forEach((c) => c.disconnect());
      await own.stop();
    }
  });

  describe('with Redis dying mid-test', () => {
    let own: RedisServerHandle;

    beforeEach(async () => {
      own = await startRedisServer();
    });

    afterEach(async () => {
      clients.splice(1).forEach((c) => c.disconnect());
      await own.stop();
    });

    it('carries on with tier 1, counts and logs the errors, then uses Redis again once it is back', async () => {
      const ownRedis = await client(own.url);
      const c = cache({ redis: ownRedis });
      await c.getWithFallback('kept', async () => 'v', TTLS);
      await own.kill();

      now += 1_000;
      expect(await c.getWithFallback('kept', fail('unused'), TTLS)).toMatchObject({ source: 'fresh' });
      expect(await c.getWithFallback('new', async () => 'n', TTLS)).toMatchObject({
        value: 'n',
        source: 'loaded',
      });
      now += 6_000; // past fresh, still inside the 10 s log interval
      expect(await c.getWithFallback('kept', fail('down'), TTLS)).toMatchObject({
        value: 'v',
        source: 'stale',
      });
      await expect(c.getWithFallback('nowhere', fail('no copy'), TTLS)).rejects.toThrow('no copy');

      const errors = await metric(registry, 'stale_cache_redis_errors_total', { cache: name });
      expect(errors).toBeGreaterThanOrEqual(3);
      const warnings = logger.warn.mock.calls.filter(([m]) => String(m).includes('Redis unavailable'));
      expect(warnings).toHaveLength(1); // rate-limited

      await own.restart();
      await connected(ownRedis);
      await c.getWithFallback('after', async () => 'back', TTLS);
      expect(await ownRedis.exists(`stale-cache:${name}:after`)).toBe(1);
      const replica = cache({ redis: ownRedis });
      expect(await replica.getWithFallback('after', fail('unused'), TTLS)).toMatchObject({
        value: 'back',
        source: 'fresh',
      });
    });
  });
});
