import { ServiceUnavailableError, type Breaker } from '@app/resilience';
import type { UserDirectory } from '../users/user-directory';

/**
 * Load shedding: while a breaker a route cannot do without is open, answer 503 at once with
 * Retry-After from that breaker instead of starting work that will fail. POST /orders cannot do
 * without `session-manager` (no session, no order) and `user-service` when the user has no cached
 * copy at all (with one, the stale copy serves); POST /orders/:id/payment-link cannot do without
 * `payment-processor`.
 */
export class LoadShedder {
  constructor(
    private readonly sessionManager: Breaker,
    private readonly userService: Breaker,
    private readonly users: UserDirectory,
    private readonly paymentProcessor: Breaker,
  ) {}

  /** @throws ServiceUnavailableError when the order cannot be served right now */
  async assertCanTakeOrder(userId: string): Promise<void> {
    if (this.sessionManager.state === 'open')
      throw this.shed(this.sessionManager, 'session-manager', 'order not attempted');
    if (this.userService.state === 'open' && !(await this.users.isCached(userId))) {
      throw this.shed(this.userService, 'user-service', 'order not attempted');
    }
  }

  /** @throws ServiceUnavailableError while `payment-processor` is open (the order keeps its outbox entry) */
  assertCanMakePaymentLink(): void {
    if (this.paymentProcessor.state === 'open') {
      throw this.shed(this.paymentProcessor, 'payment-processor', 'payment link not attempted');
    }
  }

  private shed(breaker: Breaker, service: string, what: string): ServiceUnavailableError {
    return new ServiceUnavailableError(service, `${service} is unavailable (circuit open); ${what}`, {
      retryAfterMs: breaker.retryAfterMs(),
      details: { shed: true },
    });
  }
}
