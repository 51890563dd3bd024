import type { ColumnType, Insertable, Selectable } from 'kysely';
import type { DeferredQueueTables } from '@app/resilience';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

export interface LatLng {
  lat: number;
  lng: number;
}

export interface OrderUser {
  id: string;
  name: string;
  stale: boolean;
}

export interface OrderPayment {
  linkId: string;
  gateway: string;
  url: string;
}

export type DispatchState = 'dispatched' | 'queued' | 'pending';

export interface OrderDispatch {
  status: DispatchState;
  dispatchId?: string;
}

export type OrderStatus =
  | 'dispatch_pending'
  | 'awaiting_manual_dispatch'
  | 'dispatched'
  | 'driver_assigned'
  | 'completed'
  | 'cancelled';

export type PaymentMethod = 'online' | 'cash';

export interface OrdersTable {
  id: string;
  user_id: string;
  session_id: string;
  payment_method: PaymentMethod;
  status: OrderStatus;
  /** Position of `status` in the lifecycle; an event never lowers it. */
  status_rank: number;
  fare: Json<{ amount: number; currency: string }>;
  pickup: Json<LatLng>;
  dropoff: Json<LatLng>;
  user_info: Json<OrderUser>;
  payment: Json<OrderPayment | null>;
  dispatch: Json<OrderDispatch>;
  degraded: Json<string[]>;
  vehicle: Json<unknown>;
  /** Highest `sequence` of a dispatch event applied, when TPG sends one. */
  last_event_sequence: ColumnType<string | null, number | null, number | null>;
  idempotency_key: string | null;
  request_hash: string | null;
  /** The answer given to the first POST /orders, replayed for the same Idempotency-Key. */
  first_answer: Json<unknown>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface OrchestratorTables extends DeferredQueueTables {
  orders: OrdersTable;
}

export type OrderRow = Selectable<OrdersTable>;
export type NewOrderRow = Insertable<OrdersTable>;
