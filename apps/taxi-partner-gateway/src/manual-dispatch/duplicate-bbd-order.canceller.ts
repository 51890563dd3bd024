import { Logger } from '@nestjs/common';
import { isHttpClientError, type DeferredQueueEntry } from '@app/resilience';
import { Counter, type Registry } from 'prom-client';
import { isActiveBbdOrder, type BbdClient } from '../clients/bbd.client';
import type { BbdCancelPayload } from '../dispatch/dispatch.types';

export const DUPLICATE_BBD_ORDERS_CANCELLED = 'tpg_duplicate_bbd_orders_cancelled_total';

/** What one `bbd-cancel` entry found and did (kept as the entry's result). */
export interface DuplicateCancelResult {
  cancelled: string[];
  /** BBD orders whose trip had already ended: nothing left to cancel. */
  completed: string[];
}

/**
 * Replays `bbd-cancel` entries (inside `bbd-dispatch`): once an operator sent a taxi by radio, any
 * BBD order for the same partnerOrderId is a second taxi and is cancelled. Safe to repeat: a
 * retry looks BBD up again and skips what is already cancelled.
 */
export class DuplicateBbdOrderCanceller {
  private readonly logger = new Logger('DuplicateBbdOrderCanceller');
  private readonly cancelledTotal: Counter;

  constructor(
    private readonly bbd: BbdClient,
    registry: Registry,
  ) {
    this.cancelledTotal =
      (registry.getSingleMetric(DUPLICATE_BBD_ORDERS_CANCELLED) as Counter | undefined) ??
      new Counter({
        name: DUPLICATE_BBD_ORDERS_CANCELLED,
        help: 'BBD orders cancelled because an operator had already sent a taxi by radio',
        registers: [registry],
      });
  }

  async cancelDuplicates(
    entry: DeferredQueueEntry<BbdCancelPayload>,
    signal: AbortSignal,
  ): Promise<DuplicateCancelResult> {
    const { dispatchId, partnerOrderId } = entry.payload;
    const orders = await this.bbd.findByPartnerOrderIdWithin(partnerOrderId, signal);
    const result: DuplicateCancelResult = { cancelled: [], completed: [] };
    for (const order of orders) {
      if (order.status === 'completed') {
        this.reportCompleted(dispatchId, partnerOrderId, order.orderId);
        result.completed.push(order.orderId);
        continue;
      }
      if (!isActiveBbdOrder(order)) continue;
      try {
        await this.bbd.cancelOrderWithin(order.orderId, signal);
      } catch (err: unknown) {
        // ORDER_COMPLETED: the trip ended between the lookup and the cancel.
        if (!(isHttpClientError(err) && err.status === 409)) throw err;
        this.reportCompleted(dispatchId, partnerOrderId, order.orderId);
        result.completed.push(order.orderId);
        continue;
      }
      this.cancelledTotal.inc();
      result.cancelled.push(order.orderId);
      this.logger.error(
        `dispatch ${dispatchId} (order ${partnerOrderId}): an operator taxi and a BBD taxi were both sent; cancelled BBD order ${order.orderId}`,
      );
    }
    return result;
  }

  private reportCompleted(dispatchId: string, partnerOrderId: string, bbdOrderId: string): void {
    this.logger.error(
      `dispatch ${dispatchId} (order ${partnerOrderId}): an operator taxi and a BBD taxi were both sent; BBD order ${bbdOrderId} is already completed, nothing to cancel`,
    );
  }
}
