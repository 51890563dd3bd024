import type { Breaker } from '@app/resilience';
import { ResilientHttpClient } from '@app/resilience';
import type { Registry } from 'prom-client';
import type { AssignedVehicle, LatLng, Passenger } from '../database/tpg.tables';

/** What BBD needs to create an order; `partnerOrderId` makes the create idempotent on BBD's side. */
export interface BbdCreateOrder {
  partnerOrderId: string;
  pickup: LatLng;
  dropoff: LatLng;
  passenger?: Passenger | null;
}

/** The parts of BBD's order answer the gateway keeps. */
export interface BbdOrder {
  orderId: string;
  partnerOrderId: string;
  status: string;
  vehicle: (AssignedVehicle & Record<string, unknown>) | null;
}

/** BBD's tracking answer, passed through to the caller. */
export type BbdTracking = Record<string, unknown>;

/** BBD's vacant vehicle list, passed through to the caller. */
export interface BbdVacantVehicles {
  vehicles: unknown[];
}

export interface BbdClientOptions {
  baseUrl: string;
  apiKey: string;
  /**
   * Guards create-order, vacant-vehicles and the partner-id lookup (`bbd-dispatch`): the lookup
   * decides whether an operator may send a taxi, so it shares fate with the order API it asks about.
   */
  dispatchBreaker: Breaker;
  /** Guards tracking (`bbd-tracking`), so a tracking outage never blocks dispatch. */
  trackingBreaker: Breaker;
  registry?: Registry;
}

/**
 * The BBD partner API. Two HTTP clients, one per breaker, each with its own socket pool so a
 * hanging tracking endpoint cannot take the sockets dispatch needs.
 */
export class BbdClient {
  private readonly dispatchHttp: ResilientHttpClient;
  private readonly trackingHttp: ResilientHttpClient;
  /** For callers that already run inside `bbd-dispatch` (the replayer): no second breaker count. */
  private readonly replayHttp: ResilientHttpClient;

  constructor(readonly options: BbdClientOptions) {
    const headers = { 'x-api-key': options.apiKey };
    this.dispatchHttp = new ResilientHttpClient({
      downstream: 'bbd',
      baseUrl: options.baseUrl,
      breaker: options.dispatchBreaker,
      headers,
      registry: options.registry,
    });
    this.trackingHttp = new ResilientHttpClient({
      downstream: 'bbd-tracking',
      baseUrl: options.baseUrl,
      breaker: options.trackingBreaker,
      headers,
      registry: options.registry,
      maxSockets: 20,
    });
    this.replayHttp = new ResilientHttpClient({
      downstream: 'bbd',
      baseUrl: options.baseUrl,
      headers,
      registry: options.registry,
      maxSockets: 10,
    });
  }

  get dispatchBreaker(): Breaker {
    return this.options.dispatchBreaker;
  }

  get trackingBreaker(): Breaker {
    return this.options.trackingBreaker;
  }

  /** Creates (or, for a known partnerOrderId, returns) the BBD order. Never retried here: the replayer retries. */
  async createOrder(input: BbdCreateOrder): Promise<BbdOrder> {
    const { data } = await this.dispatchHttp.post<BbdOrder>('/v1/orders', createBody(input));
    return checkOrder(data);
  }

  /** createOrder for a caller already inside `bbd-dispatch` (whose deadline fires `signal`). */
  async createOrderWithin(input: BbdCreateOrder, signal: AbortSignal): Promise<BbdOrder> {
    const { data } = await this.replayHttp.post<BbdOrder>('/v1/orders', createBody(input), { signal });
    return checkOrder(data);
  }

  /**
   * BBD's orders for one partnerOrderId (at most one, creates being idempotent by it), any status;
   * empty when BBD never took the order. Through `bbd-dispatch`; `signal` is the caller's deadline.
   */
  async findByPartnerOrderId(partnerOrderId: string, signal?: AbortSignal): Promise<BbdOrder[]> {
    const { data } = await this.dispatchHttp.get<{ orders?: unknown }>('/v1/orders', {
      query: { partnerOrderId },
      signal,
    });
    return checkOrders(data);
  }

  /** findByPartnerOrderId for a caller already inside `bbd-dispatch` (the cancel replayer). */
  async findByPartnerOrderIdWithin(partnerOrderId: string, signal: AbortSignal): Promise<BbdOrder[]> {
    const { data } = await this.replayHttp.get<{ orders?: unknown }>('/v1/orders', {
      query: { partnerOrderId },
      signal,
    });
    return checkOrders(data);
  }

  /**
   * Cancels a BBD order, for a caller already inside `bbd-dispatch` (the cancel replayer).
   * @throws HttpClientError 409 (`ORDER_COMPLETED`) when BBD's trip is already over
   */
  async cancelOrderWithin(bbdOrderId: string, signal: AbortSignal): Promise<BbdOrder> {
    const { data } = await this.replayHttp.post<BbdOrder>(
      `/v1/orders/${encodeURIComponent(bbdOrderId)}/cancel`,
      undefined,
      { signal },
    );
    return checkOrder(data);
  }

  async tracking(bbdOrderId: string): Promise<BbdTracking> {
    const { data } = await this.trackingHttp.get<BbdTracking>(
      `/v1/orders/${encodeURIComponent(bbdOrderId)}/tracking`,
    );
    return data;
  }

  async vacantVehicles(lat: number, lng: number, radius?: number): Promise<BbdVacantVehicles> {
    const { data } = await this.dispatchHttp.get<BbdVacantVehicles>('/v1/vehicles/vacant', {
      query: { lat, lng, radius },
    });
    return { vehicles: Array.isArray(data?.vehicles) ? data.vehicles : [] };
  }

  close(): void {
    this.dispatchHttp.close();
    this.trackingHttp.close();
    this.replayHttp.close();
  }
}

function createBody(input: BbdCreateOrder): Record<string, unknown> {
  return {
    partnerOrderId: input.partnerOrderId,
    pickup: { lat: input.pickup.lat, lng: input.pickup.lng },
    dropoff: { lat: input.dropoff.lat, lng: input.dropoff.lng },
    ...(input.passenger ? { passenger: input.passenger } : {}),
  };
}

function checkOrder(data: BbdOrder): BbdOrder {
  if (data === null || typeof data !== 'object' || typeof data.orderId !== 'string') {
    throw new Error('bbd: order answer without orderId');
  }
  return data;
}

function checkOrders(data: { orders?: unknown } | null): BbdOrder[] {
  if (data === null || typeof data !== 'object' || !Array.isArray(data.orders)) {
    throw new Error('bbd: order lookup answer without orders');
  }
  return data.orders.map((order) => checkOrder(order as BbdOrder));
}

/** BBD's statuses of an order whose taxi has not picked the passenger up yet (safe to cancel). */
const BEFORE_PICKUP: readonly string[] = ['searching', 'driver_assigned'];

/** A BBD order whose taxi is still looking for, or driving to, the passenger. */
export function isBbdOrderBeforePickup(order: BbdOrder): boolean {
  return BEFORE_PICKUP.includes(order.status);
}
