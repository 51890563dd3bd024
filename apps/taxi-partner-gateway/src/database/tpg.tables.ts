import type { DeferredQueueTables } from '@app/resilience';
import type { ColumnType, Insertable, Selectable } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T> = ColumnType<T, string, string>;

/** pending (row written, BBD call in flight) → dispatched | queued → driver_assigned (operator). */
export type DispatchStatus = 'pending' | 'dispatched' | 'queued' | 'driver_assigned';

export interface LatLng {
  lat: number;
  lng: number;
}

export interface Passenger {
  name: string;
  phone: string;
}

/** The vehicle an order ended up with (from BBD or from an operator's radio). */
export interface AssignedVehicle {
  vehicleId: string;
  driverName?: string;
  plateNumber?: string;
}

export interface DispatchesTable {
  id: string;
  order_id: string;
  status: DispatchStatus;
  pickup: Json<LatLng>;
  dropoff: Json<LatLng>;
  passenger: Json<Passenger | null>;
  bbd_order_id: string | null;
  reason: string | null;
  vehicle: Json<AssignedVehicle | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Every table of the gateway's schema. */
export interface TpgTables extends DeferredQueueTables {
  dispatches: DispatchesTable;
}

export type DispatchRow = Selectable<DispatchesTable>;
export type NewDispatchRow = Insertable<DispatchesTable>;
