import type { Session } from './session.types';

/** Injection token of the SessionStore. */
export const SESSION_STORE = Symbol('SESSION_STORE');

/**
 * Where sessions live until they expire (at `expiresAt`). Implementations: Redis when REDIS_URL is
 * set, in process otherwise. Both throw ServiceUnavailableError when the store cannot answer.
 */
export interface SessionStore {
  /** Stores the session until its `expiresAt`. */
  save(session: Session): Promise<void>;
  /** The session, or undefined when unknown or expired. */
  get(id: string): Promise<Session | undefined>;
  /** Throws ServiceUnavailableError at once when the store is known to be down (no round trip). */
  assertAvailable(): void;
  /** True when the store answers (readiness). Never throws. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
