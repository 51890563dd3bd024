import {
  ServiceUnavailableError,
  isHttpClientError,
  type Breaker,
  type StaleCache,
  type StaleCacheTtls,
} from '@app/resilience';
import type { UserProfile } from '../clients/downstream.types';
import type { UserServiceClient } from '../clients/user-service.client';

/** user-service says the user does not exist (404). */
export class UnknownUserError extends Error {
  constructor(readonly userId: string) {
    super(`user ${userId} does not exist`);
    this.name = 'UnknownUserError';
  }
}

export interface UserLookup {
  user: UserProfile;
  /** Served from the stale cache because user-service could not answer. */
  stale: boolean;
}

/**
 * Users through the stale cache: fresh copy → user-service (breaker `user-service`) → stale copy
 * on ANY failure of the call (not only an open breaker). A 404 is an answer, not a failure: it
 * is never covered by a stale copy.
 */
export class UserDirectory {
  constructor(
    private readonly client: UserServiceClient,
    private readonly breaker: Breaker,
    private readonly cache: StaleCache<UserProfile>,
    private readonly ttls: StaleCacheTtls,
  ) {}

  /**
   * @throws UnknownUserError when user-service answers 404
   * @throws ServiceUnavailableError when user-service fails and no stale copy exists
   */
  async get(userId: string): Promise<UserLookup> {
    let notFound = false;
    const load = async (): Promise<UserProfile> => {
      try {
        return await this.client.get(userId);
      } catch (err: unknown) {
        if (isHttpClientError(err) && err.status === 404) notFound = true;
        throw err;
      }
    };
    try {
      const result = await this.cache.getWithFallback(userId, load, this.ttls);
      if (notFound) {
        await this.cache.delete(userId);
        throw new UnknownUserError(userId);
      }
      return { user: result.value, stale: result.stale };
    } catch (err: unknown) {
      if (err instanceof UnknownUserError) throw err;
      if (notFound) throw new UnknownUserError(userId);
      throw new ServiceUnavailableError(
        'user-service',
        'user-service is unavailable and the user is not cached',
        {
          retryAfterMs: this.breaker.retryAfterMs() || undefined,
          cause: err,
        },
      );
    }
  }

  /** Whether any copy of the user (fresh or stale) is cached, without loading. */
  async isCached(userId: string): Promise<boolean> {
    return (await this.cache.get(userId)) !== undefined;
  }
}
