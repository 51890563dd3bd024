import type { DeferredQueue } from '@app/resilience';
import type { DispatchEvent } from '../clients/order-orchestrator.client';

/** What a manual dispatch queue entry carries (the dispatch row holds the rest). */
export interface ManualDispatchPayload {
  dispatchId: string;
  orderId: string;
}

export type ManualDispatchQueue = DeferredQueue<ManualDispatchPayload>;

/** After an operator's radio taxi: any BBD order for `partnerOrderId` is a second taxi to cancel. */
export interface BbdCancelPayload {
  dispatchId: string;
  partnerOrderId: string;
}

export type BbdCancelQueue = DeferredQueue<BbdCancelPayload>;
export type DispatchEventsOutbox = DeferredQueue<DispatchEvent>;

export const MANUAL_DISPATCH_QUEUE_NAME = 'manual-dispatch';
export const DISPATCH_EVENTS_OUTBOX_NAME = 'dispatch-events-outbox';
export const BBD_CANCEL_QUEUE_NAME = 'bbd-cancel';

/** Injection tokens of the gateway's own providers. */
export const TPG_CONFIG = Symbol('TPG_CONFIG');
export const TPG_DATABASE = Symbol('TPG_DATABASE');
export const TPG_CLOCK = Symbol('TPG_CLOCK');
export const MANUAL_DISPATCH_QUEUE = Symbol('MANUAL_DISPATCH_QUEUE');
export const DISPATCH_EVENTS_OUTBOX = Symbol('DISPATCH_EVENTS_OUTBOX');
export const BBD_CANCEL_QUEUE = Symbol('BBD_CANCEL_QUEUE');

/** The answer of `POST /dispatches` and `GET /dispatches/:id`. */
export interface DispatchView {
  id: string;
  orderId: string;
  status: 'pending' | 'dispatched' | 'queued' | 'driver_assigned';
  bbdOrderId?: string;
  reason?: string;
  vehicle?: { vehicleId: string; driverName?: string; plateNumber?: string };
  createdAt: string;
  updatedAt: string;
}
