import { Logger, type LoggerService } from '@nestjs/common';
import type { Redis, RedisOptions } from 'ioredis';
import IORedis from 'ioredis';
import { LRUCache } from 'lru-cache';
import { Registry, type Counter } from 'prom-client';
import type { Clock } from '../breaker/breaker.types';
import { registryCounter } from '../http/registry-counter';

export interface StaleCacheTtls {
  /** How long an entry is served without calling load(). */
  freshTtlMs: number;
  /** How long (from storing) an entry may still be served when load() fails; ≥ freshTtlMs. */
  staleTtlMs: number;
}

export interface StaleCacheOptions<T> {
  /** Cache name: the `cache` metric label and part of the Redis key. */
  name: string;
  /** Tier 2, shared by replicas; absent → tier 1 only. See `createStaleCacheRedis` for safe options. */
  redis?: Redis;
  /** Tier 1 bound. Default 10 000 entries. */
  maxEntries?: number;
  /** Redis key prefix. Default `stale-cache:`; keys are `<prefix><name>:<key>`. */
  keyPrefix?: string;
  clock?: Clock;
  registry?: Registry;
  logger?: LoggerService;
  /** Bound on every Redis call; past it tier 1 carries on alone. Default 100 ms. */
  redisTimeoutMs?: number;
  /** Value → string for Redis. Default JSON.stringify. */
  serialize?: (value: T) => string;
  /** String → value from Redis. Default JSON.parse. */
  deserialize?: (raw: string) => T;
}

export type StaleCacheSource = 'fresh' | 'loaded' | 'stale';

export interface StaleCacheResult<T> {
  value: T;
  /** True when load() failed and an older copy is served. */
  stale: boolean;
  source: StaleCacheSource;
  /** Age of the value served (0 for a value just loaded). */
  ageMs: number;
}

interface Entry<T> {
  value: T;
  storedAt: number;
  freshUntil: number;
  staleUntil: number;
}

interface Envelope {
  s: number;
  f: number;
  u: number;
  v: string;
}

/** Minimum gap between two "Redis unavailable" log lines of one cache. */
const LOG_EVERY_MS = 10_000;

/**
 * ioredis options that keep a cache call from hanging on a dead Redis: no offline queue, a
 * per-command timeout and one try per command; reconnects in the background. Connection errors
 * are not printed by ioredis (the cache counts and logs failed calls).
 */
export function createStaleCacheRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new IORedis(url, {
    enableOfflineQueue: false,
    commandTimeout: 100,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    ...options,
  });
  // Without a listener ioredis prints every reconnect failure; the cache counts and logs them itself.
  redis.on('error', () => undefined);
  return redis;
}

/**
 * Two-tier cache with stale fallback: tier 1 an in-process LRU, tier 2 Redis shared by replicas.
 * A fresh hit returns at once; otherwise load() runs once per key per process (single flight)
 * and its result is stored; when load() fails, the stale copy is served, else the load error
 * propagates. Redis failures never fail a call: they are counted, logged (rate-limited) and
 * tier 1 carries on.
 */
export class StaleCache<T> {
  readonly name: string;
  private readonly tier1: LRUCache<string, Entry<T>>;
  private readonly redis?: Redis;
  private readonly keyPrefix: string;
  private readonly clock: Clock;
  private readonly redisTimeoutMs: number;
  private readonly serialize: (value: T) => string;
  private readonly deserialize: (raw: string) => T;
  private readonly logger: LoggerService;
  private readonly lookups: Counter<'cache' | 'kind'>;
  private readonly redisErrors: Counter<'cache'>;
  private readonly inflight = new Map<string, Promise<StaleCacheResult<T>>>();
  private lastLogAt = Number.NEGATIVE_INFINITY;
  private suppressedErrors = 0;

  constructor(options: StaleCacheOptions<T>) {
    if (!options.name) throw new Error('StaleCache: name is required');
    this.name = options.name;
    this.tier1 = new LRUCache<string, Entry<T>>({ max: options.maxEntries ?? 10_000 });
    this.redis = options.redis;
    this.keyPrefix = `${options.keyPrefix ?? 'stale-cache:'}${options.name}:`;
    this.clock = options.clock ?? Date.now;
    this.redisTimeoutMs = options.redisTimeoutMs ?? 100;
    this.serialize = options.serialize ?? ((value) => JSON.stringify(value));
    this.deserialize = options.deserialize ?? ((raw) => JSON.parse(raw) as T);
    this.logger = options.logger ?? new Logger(`StaleCache:${options.name}`);
    const registry = options.registry ?? new Registry();
    this.lookups = registryCounter(registry, 'stale_cache_lookups_total', 'Stale cache lookups by kind', [
      'cache',
      'kind',
    ]);
    this.redisErrors = registryCounter(
      registry,
      'stale_cache_redis_errors_total',
      'Redis calls of the stale cache that failed or timed out',
      ['cache'],
    );
  }

  /**
   * Fresh copy if there is one, else load() (through the caller's breaker) and store the result;
   * if load() fails for any reason, the stale copy marked stale; with none, load()'s error.
   */
  async getWithFallback(
    key: string,
    load: () => Promise<T>,
    ttls: StaleCacheTtls,
  ): Promise<StaleCacheResult<T>> {
    validateTtls(ttls);
    const now = this.clock();
    const local = this.liveTier1(key, now);
    if (local && now < local.freshUntil)
      return this.count({ value: local.value, stale: false, source: 'fresh', ageMs: now - local.storedAt });
    let flight = this.inflight.get(key);
    if (!flight) {
      flight = this.miss(key, local, load, ttls).finally(() => this.inflight.delete(key));
      this.inflight.set(key, flight);
    }
    try {
      return this.count(await flight);
    } catch (err: unknown) {
      this.lookups.inc({ cache: this.name, kind: 'miss' });
      throw err;
    }
  }

  /** Peek: the newest copy from tier 1 or Redis without loading; `stale` when past its fresh TTL. */
  async get(key: string): Promise<Omit<StaleCacheResult<T>, 'source'> | undefined> {
    const now = this.clock();
    const local = this.liveTier1(key, now);
    const entry = local && now < local.freshUntil ? local : newest(local, await this.readTier2(key, now));
    if (!entry) return undefined;
    return { value: entry.value, stale: now >= entry.freshUntil, ageMs: now - entry.storedAt };
  }

  /** Stores `value` as just loaded, in both tiers. */
  async set(key: string, value: T, ttls: StaleCacheTtls): Promise<void> {
    validateTtls(ttls);
    const now = this.clock();
    const entry: Entry<T> = {
      value,
      storedAt: now,
      freshUntil: now + ttls.freshTtlMs,
      staleUntil: now + ttls.staleTtlMs,
    };
    this.tier1.set(key, entry);
    await this.writeTier2(key, entry, ttls.staleTtlMs);
  }

  /** Removes the key from both tiers. */
  async delete(key: string): Promise<void> {
    this.tier1.delete(key);
    if (!this.redis) return;
    await this.redisCall(this.redis.del(this.keyPrefix + key));
  }

  private async miss(
    key: string,
    local: Entry<T> | undefined,
    load: () => Promise<T>,
    ttls: StaleCacheTtls,
  ): Promise<StaleCacheResult<T>> {
    const now = this.clock();
    const remote = await this.readTier2(key, now);
    if (remote && now < remote.freshUntil) {
      this.tier1.set(key, remote);
      return { value: remote.value, stale: false, source: 'fresh', ageMs: now - remote.storedAt };
    }
    let value: T;
    try {
      value = await load();
    } catch (err: unknown) {
      const after = this.clock();
      const stale = newest(local, remote);
      if (!stale || after >= stale.staleUntil) throw err;
      return { value: stale.value, stale: true, source: 'stale', ageMs: after - stale.storedAt };
    }
    await this.set(key, value, ttls);
    return { value, stale: false, source: 'loaded', ageMs: 0 };
  }

  private count(result: StaleCacheResult<T>): StaleCacheResult<T> {
    const kind = result.source === 'loaded' ? 'miss' : result.source;
    this.lookups.inc({ cache: this.name, kind });
    return result;
  }

  private liveTier1(key: string, now: number): Entry<T> | undefined {
    const entry = this.tier1.get(key);
    if (entry && now >= entry.staleUntil) {
      this.tier1.delete(key);
      return undefined;
    }
    return entry;
  }

  private async readTier2(key: string, now: number): Promise<Entry<T> | undefined> {
    if (!this.redis) return undefined;
    const raw = await this.redisCall(this.redis.get(this.keyPrefix + key));
    if (typeof raw !== 'string') return undefined;
    try {
      const env = JSON.parse(raw) as Envelope;
      const entry: Entry<T> = {
        value: this.deserialize(env.v),
        storedAt: env.s,
        freshUntil: env.f,
        staleUntil: env.u,
      };
      return now < entry.staleUntil ? entry : undefined;
    } catch (err: unknown) {
      this.logger.warn(`cache '${this.name}': unreadable Redis entry ignored (${(err as Error).message})`);
      return undefined;
    }
  }

  private async writeTier2(key: string, entry: Entry<T>, staleTtlMs: number): Promise<void> {
    if (!this.redis) return;
    const env: Envelope = {
      s: entry.storedAt,
      f: entry.freshUntil,
      u: entry.staleUntil,
      v: this.serialize(entry.value),
    };
    await this.redisCall(
      this.redis.set(this.keyPrefix + key, JSON.stringify(env), 'PX', Math.max(1, staleTtlMs)),
    );
  }

  /** Bounds one Redis call; any failure or timeout → undefined, counted and logged. */
  private redisCall<R>(call: Promise<R>): Promise<R | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.redisTimeoutMs);
    });
    return Promise.race([call, timeout]).then(
      (result) => {
        clearTimeout(timer);
        if (result === 'timeout') {
          call.catch(() => undefined); // the abandoned call may still reject later
          this.redisFailed(new Error(`timed out after ${this.redisTimeoutMs} ms`));
          return undefined;
        }
        return result as R;
      },
      (err: unknown) => {
        clearTimeout(timer);
        this.redisFailed(err);
        return undefined;
      },
    );
  }

  private redisFailed(err: unknown): void {
    this.redisErrors.inc({ cache: this.name });
    const now = this.clock();
    if (now - this.lastLogAt < LOG_EVERY_MS) {
      this.suppressedErrors++;
      return;
    }
    const suppressed = this.suppressedErrors ? ` (${this.suppressedErrors} more since the last report)` : '';
    this.lastLogAt = now;
    this.suppressedErrors = 0;
    this.logger.warn(
      `cache '${this.name}': Redis unavailable, serving from tier 1 only: ${(err as Error)?.message ?? String(err)}${suppressed}`,
    );
  }
}

function newest<T>(a: Entry<T> | undefined, b: Entry<T> | undefined): Entry<T> | undefined {
  if (!a) return b;
  if (!b) return a;
  return b.storedAt > a.storedAt ? b : a;
}

function validateTtls(ttls: StaleCacheTtls): void {
  if (!(ttls.freshTtlMs >= 0)) throw new Error('StaleCache: freshTtlMs must be ≥ 0');
  if (!(ttls.staleTtlMs >= ttls.freshTtlMs)) throw new Error('StaleCache: staleTtlMs must be ≥ freshTtlMs');
}
