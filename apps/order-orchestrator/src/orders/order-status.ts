import type { DispatchState, OrderStatus } from '../database/orders.tables';

/** Lifecycle position of each status: an event may only move an order forward. */
export const STATUS_RANK: Readonly<Record<OrderStatus, number>> = {
  dispatch_pending: 0,
  awaiting_manual_dispatch: 1,
  dispatched: 2,
  driver_assigned: 3,
  completed: 4,
  cancelled: 4,
};

/** Statuses TPG may report in a dispatch event (its own names and the orchestrator's). */
export const DISPATCH_EVENT_STATUSES = [
  'queued',
  'dispatched',
  'driver_assigned',
  'completed',
  'cancelled',
  'awaiting_manual_dispatch',
] as const;

export type DispatchEventStatus = (typeof DISPATCH_EVENT_STATUSES)[number];

/** The order status a dispatch event stands for. */
export function orderStatusOfEvent(status: DispatchEventStatus): OrderStatus {
  return status === 'queued' ? 'awaiting_manual_dispatch' : status;
}

/** The order status a dispatch answer from TPG stands for. */
export function orderStatusOfDispatch(state: DispatchState): OrderStatus {
  switch (state) {
    case 'dispatched':
      return 'dispatched';
    case 'queued':
      return 'awaiting_manual_dispatch';
    case 'pending':
      return 'dispatch_pending';
    default: {
      const never: never = state;
      throw new Error(`unknown dispatch state ${String(never)}`);
    }
  }
}

export function isTerminal(status: OrderStatus): boolean {
  return status === 'completed' || status === 'cancelled';
}

/**
 * Whether a status change reported out of band may be applied: only forward in the lifecycle,
 * never out of a terminal status, and never from an event older (by sequence) than one applied.
 */
export function mayAdvance(
  current: { status: OrderStatus; lastSequence: number | null },
  next: { status: OrderStatus; sequence?: number },
): boolean {
  if (isTerminal(current.status)) return false;
  if (next.sequence !== undefined && current.lastSequence !== null && next.sequence <= current.lastSequence) {
    return false;
  }
  return STATUS_RANK[next.status] > STATUS_RANK[current.status];
}
