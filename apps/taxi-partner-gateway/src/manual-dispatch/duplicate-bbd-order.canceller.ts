import { Logger } from '@nestjs/common';
import { isHttpClientError, type DeferredQueueEntry } from '@app/resilience';
import { Counter, type Registry } from 'prom-client';
import { isBbdOrderBeforePickup, type BbdClient, type BbdOrder } from '../clients/bbd.client';
import type { BbdCancelPayload } from '../dispatch/dispatch.types';

export const DUPLICATE_BBD_ORDERS_CANCELLED = 'tpg_duplicate_bbd_orders_cancelled_total';
export const DUPLICATE_BBD_ORDERS_KEPT = 'tpg_duplicate_bbd_orders_kept_total';

/** Why a duplicate BBD order was left alone (label `bbd_status` of the kept counter). */
const KEPT_STATUSES = ['on_trip', 'completed', 'unknown'] as const;
type KeptStatus = (typeof KEPT_STATUSES)[number];

/** What one `bbd-cancel` entry found and did (kept as the entry's result). */
export interface DuplicateCancelResult {
  cancelled: string[];
  /** BBD orders whose taxi already carries the passenger: not cancelled, the radio taxi is recalled. */
  onTrip: string[];
  /** BBD orders whose trip had already ended: nothing left to cancel. */
  completed: string[];
}

/**
 * Replays `bbd-cancel` entries (inside `bbd-dispatch`): once an operator sent a taxi by radio, any
 * BBD order for the same partnerOrderId is a second taxi. One still before pickup is cancelled; one
 * on trip or completed already carried the passenger, so it is left, logged and counted. Safe to
 * repeat: a retry looks BBD up again and skips what is already cancelled.
 */
export class DuplicateBbdOrderCanceller {
  private readonly logger = new Logger('DuplicateBbdOrderCanceller');
  private readonly cancelledTotal: Counter;
  private readonly keptTotal: Counter<'bbd_status'>;

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
    this.keptTotal =
      (registry.getSingleMetric(DUPLICATE_BBD_ORDERS_KEPT) as Counter<'bbd_status'> | undefined) ??
      new Counter({
        name: DUPLICATE_BBD_ORDERS_KEPT,
        help: 'BBD orders that duplicated an operator radio taxi but were past pickup, so not cancelled',
        labelNames: ['bbd_status'],
        registers: [registry],
      });
    // Exported at 0 from the start: increase() misses the first increment of a series born at 1.
    for (const status of KEPT_STATUSES) this.keptTotal.inc({ bbd_status: status }, 0);
  }

  async cancelDuplicates(
    entry: DeferredQueueEntry<BbdCancelPayload>,
    signal: AbortSignal,
  ): Promise<DuplicateCancelResult> {
    const { dispatchId, partnerOrderId } = entry.payload;
    const orders = await this.bbd.findByPartnerOrderIdWithin(partnerOrderId, signal);
    const result: DuplicateCancelResult = { cancelled: [], onTrip: [], completed: [] };
    const where = `dispatch ${dispatchId} (order ${partnerOrderId})`;
    for (const order of orders) {
      if (order.status === 'cancelled') continue;
      if (!isBbdOrderBeforePickup(order)) {
        this.keep(where, order, result);
        continue;
      }
      try {
        await this.bbd.cancelOrderWithin(order.orderId, signal);
      } catch (err: unknown) {
        // ORDER_COMPLETED: the trip ended between the lookup and the cancel.
        if (!(isHttpClientError(err) && err.status === 409)) throw err;
        this.keep(where, { ...order, status: 'completed' }, result);
        continue;
      }
      this.cancelledTotal.inc();
      result.cancelled.push(order.orderId);
      this.logger.error(
        `${where}: an operator taxi and a BBD taxi were both sent; cancelled BBD order ${order.orderId}`,
      );
    }
    return result;
  }

  /** A duplicate past pickup: cancelling it would strand the passenger, so it is reported instead. */
  private keep(where: string, order: BbdOrder, result: DuplicateCancelResult): void {
    const status: KeptStatus =
      order.status === 'on_trip' || order.status === 'completed' ? order.status : 'unknown';
    this.keptTotal.inc({ bbd_status: status });
    switch (status) {
      case 'on_trip':
        result.onTrip.push(order.orderId);
        this.logger.error(
          `${where}: an operator taxi and a BBD taxi were both sent; BBD order ${order.orderId} is on trip with the passenger, not cancelled: recall the radio taxi`,
        );
        return;
      case 'completed':
        result.completed.push(order.orderId);
        this.logger.error(
          `${where}: an operator taxi and a BBD taxi were both sent; BBD order ${order.orderId} is already completed, nothing to cancel`,
        );
        return;
      case 'unknown':
        this.logger.error(
          `${where}: an operator taxi and a BBD taxi were both sent; BBD order ${order.orderId} has unknown status ${order.status}, not cancelled: check it with BBD`,
        );
        return;
      default: {
        const never: never = status;
        throw new Error(`unhandled status ${String(never)}`);
      }
    }
  }
}
