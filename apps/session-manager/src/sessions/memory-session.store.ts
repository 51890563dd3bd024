import type { Clock } from '@app/resilience';
import type { SessionStore } from './session.store';
import type { Session } from './session.types';

/**
 * Sessions in process, for local runs without Redis: same expiry semantics as Redis, read through
 * the injected clock. Every session has the same TTL, so insertion order is expiry order and
 * expired entries are swept from the front on each write.
 */
export class MemorySessionStore implements SessionStore {
  private readonly sessions = new Map<string, { session: Session; expiresAtMs: number }>();

  constructor(private readonly clock: Clock) {}

  async save(session: Session): Promise<void> {
    this.sweep();
    this.sessions.set(session.id, { session, expiresAtMs: Date.parse(session.expiresAt) });
  }

  async get(id: string): Promise<Session | undefined> {
    const entry = this.sessions.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs <= this.clock()) {
      this.sessions.delete(id);
      return undefined;
    }
    return entry.session;
  }

  assertAvailable(): void {}

  async ping(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {
    this.sessions.clear();
  }

  /** Sessions held (expired ones included until swept). */
  get size(): number {
    return this.sessions.size;
  }

  private sweep(): void {
    const now = this.clock();
    for (const [id, entry] of this.sessions) {
      if (entry.expiresAtMs > now) return;
      this.sessions.delete(id);
    }
  }
}
