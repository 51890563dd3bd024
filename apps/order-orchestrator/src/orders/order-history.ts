import type { LoggerService } from '@nestjs/common';
import { isBreakerRejection, type Breaker, type BreakerConfig } from '@app/resilience';
import { Counter, type Registry } from 'prom-client';
import type { OrdersRepository } from '../database/orders.repository';
import { toOrderView, type OrderView } from './order.view';

/** Name of the breaker in front of the read replica. */
export const REPLICA_BREAKER = 'orders-replica';

/**
 * Defaults of `orders-replica` (the library has none for it): a short call deadline, since the
 * primary is the fallback and a slow replica must not make history slow; BREAKER_OVERRIDES wins.
 */
export const REPLICA_BREAKER_DEFAULTS: Omit<BreakerConfig, 'name'> = {
  callTimeoutMs: 1000,
  timeoutMs: 10_000,
  failureThreshold: 3,
  intervalMs: 60_000,
  maxRequests: 1,
};

/** Where a history read was served from. */
export type HistorySource = 'replica' | 'primary-fallback' | 'primary';

export interface OrderHistoryPage {
  userId: string;
  orders: OrderView[];
}

/**
 * GET /orders?userId= : a non-critical read, so it goes to the replica (through its breaker) when
 * one is configured and falls back to the primary on any replica failure or an open breaker.
 * Counts each read in order_history_reads_total{source}.
 */
export class OrderHistory {
  private readonly reads: Counter<'source'>;

  constructor(
    private readonly primary: OrdersRepository,
    private readonly replica: { orders: OrdersRepository; breaker: Breaker } | undefined,
    registry: Registry,
    private readonly logger?: Pick<LoggerService, 'warn'>,
  ) {
    this.reads =
      (registry.getSingleMetric('order_history_reads_total') as Counter<'source'> | undefined) ??
      new Counter({
        name: 'order_history_reads_total',
        help: 'Order history reads, by where they were served from (replica, primary-fallback, primary)',
        labelNames: ['source'],
        registers: [registry],
      });
  }

  /** The user's orders, newest first, at most `limit`. Errors of the primary propagate. */
  async list(userId: string, limit: number): Promise<OrderHistoryPage & { source: HistorySource }> {
    let source: HistorySource = 'primary';
    if (this.replica) {
      const { orders, breaker } = this.replica;
      try {
        const rows = await breaker.execute(() => orders.history(userId, limit));
        return this.page(userId, rows.map(toOrderView), 'replica');
      } catch (err: unknown) {
        source = 'primary-fallback';
        // An open breaker is already logged and alerted by the breaker itself.
        if (!isBreakerRejection(err))
          this.logger?.warn(
            `order history: replica unavailable (${err instanceof Error ? err.message : String(err)}), reading the primary`,
          );
      }
    }
    const rows = await this.primary.history(userId, limit);
    return this.page(userId, rows.map(toOrderView), source);
  }

  private page(
    userId: string,
    orders: OrderView[],
    source: HistorySource,
  ): OrderHistoryPage & { source: HistorySource } {
    this.reads.inc({ source });
    return { userId, orders, source };
  }
}
