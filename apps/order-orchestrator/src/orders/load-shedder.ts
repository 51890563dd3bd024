import { ServiceUnavailableError, type Breaker } from '@app/resilience';
import type { UserDirectory } from '../users/user-directory';

/**
 * Load shedding for POST /orders: while a breaker the route cannot do without is open, answer
 * 503 at once with Retry-After from that breaker instead of starting work that will fail.
 * Cannot do without: `session-manager` (no session, no order) and `user-service` when the user
 * has no cached copy at all (with one, the stale copy serves).
 */
export class LoadShedder {
  constructor(
    private readonly sessionManager: Breaker,
    private readonly userService: Breaker,
    private readonly users: UserDirectory,
  ) {}

  /** @throws ServiceUnavailableError when the order cannot be served right now */
  async assertCanTakeOrder(userId: string): Promise<void> {
    if (this.sessionManager.state === 'open') throw this.shed(this.sessionManager, 'session-manager');
    if (this.userService.state === 'open' && !(await this.users.isCached(userId))) {
      throw this.shed(this.userService, 'user-service');
    }
  }

  private shed(breaker: Breaker, service: string): ServiceUnavailableError {
    return new ServiceUnavailableError(
      service,
      `${service} is unavailable (circuit open); order not attempted`,
      {
        retryAfterMs: breaker.retryAfterMs(),
        details: { shed: true },
      },
    );
  }
}
