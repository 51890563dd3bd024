import { ServiceUnavailableError, type Clock } from '@app/resilience';
import type { Redis } from 'ioredis';
import type { SessionStore } from './session.store';
import type { Session } from './session.types';

/** How long a client should wait before retrying while Redis is down. */
const RETRY_AFTER_MS = 2000;

/**
 * Sessions in Redis with a PX expiry. The client is expected to fail fast while disconnected
 * (enableOfflineQueue false, commandTimeout), so an outage becomes a 503, never a hang.
 */
export class RedisSessionStore implements SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly clock: Clock,
    private readonly prefix = 'session-manager:session:',
  ) {}

  async save(session: Session): Promise<void> {
    const ttlMs = Date.parse(session.expiresAt) - this.clock();
    if (ttlMs <= 0) return;
    await this.guard(() => this.redis.set(this.prefix + session.id, JSON.stringify(session), 'PX', ttlMs));
  }

  async get(id: string): Promise<Session | undefined> {
    const raw = await this.guard(() => this.redis.get(this.prefix + id));
    if (raw === null) return undefined;
    const session = JSON.parse(raw) as Session;
    // Redis expires on its own clock; the injected clock decides too, so both agree in tests.
    return Date.parse(session.expiresAt) <= this.clock() ? undefined : session;
  }

  /** Waits (bounded) for the first connection, so a healthy Redis serves the very first request. */
  async waitUntilReady(timeoutMs: number): Promise<void> {
    if (this.redis.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.redis.once('ready', done);
    });
  }

  assertAvailable(): void {
    if (this.redis.status !== 'ready')
      throw this.unavailable(new Error(`redis connection is ${this.redis.status}`));
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }

  private async guard<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch (err: unknown) {
      throw this.unavailable(err);
    }
  }

  private unavailable(cause: unknown): ServiceUnavailableError {
    return new ServiceUnavailableError('session-store', 'the session store is unavailable', {
      retryAfterMs: RETRY_AFTER_MS,
      cause,
    });
  }
}
