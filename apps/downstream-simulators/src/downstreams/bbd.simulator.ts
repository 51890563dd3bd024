import {
  bearingDegrees,
  hashString,
  haversineMeters,
  isRecord,
  randomChars,
  readLatLng,
  seededRandom,
  type LatLng,
} from '../common/deterministic.util';
import type { DownstreamDefinition, SimRequest, SimResponse } from '../http/http.types';

/** Timeline of a BBD order after creation (simulator clock). */
export const BBD_SEARCH_MS = 5_000;
export const BBD_APPROACH_MS = 30_000;
const TRIP_SPEED_KPH = 30;
const DEFAULT_RADIUS_METERS = 3_000;
const MAX_RADIUS_METERS = 20_000;
const CELL_DEGREES = 0.01;
const ALPHANUMERIC = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const DRIVERS = ['Bambang', 'Slamet', 'Hendra', 'Wahyu', 'Eko', 'Dedi', 'Rudi', 'Yusuf', 'Ahmad', 'Teguh'];

/** Order status as BBD reports it; derived from the clock except `cancelled`. */
export type BbdOrderStatus = 'searching' | 'driver_assigned' | 'on_trip' | 'completed' | 'cancelled';

/** A vehicle of the BBD fleet. */
export interface BbdVehicle {
  vehicleId: string;
  plateNumber: string;
  driverName: string;
  vehicleType: 'sedan' | 'mpv';
  position: LatLng;
}

/** What BBD stores per order. */
export interface BbdOrderRecord {
  orderId: string;
  partnerOrderId: string;
  pickup: LatLng;
  dropoff: LatLng;
  passenger: { name?: string; phone?: string } | null;
  createdAtMs: number;
  cancelledAtMs?: number;
  vehicle: BbdVehicle;
}

/** The order as BBD answers it. */
export interface BbdOrderView {
  orderId: string;
  partnerOrderId: string;
  status: BbdOrderStatus;
  pickup: LatLng;
  dropoff: LatLng;
  passenger: { name?: string; phone?: string } | null;
  vehicle: BbdVehicle | null;
  createdAt: string;
  updatedAt: string;
}

function bbdError(status: number, code: string, message: string, field?: string): SimResponse {
  return { status, body: { error: { code, message, ...(field ? { field } : {}) } } };
}

const CODES: Record<number, string> = {
  400: 'VALIDATION_ERROR',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  429: 'RATE_LIMITED',
  500: 'INTERNAL_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

/** The BBD taxi partner dispatch API (see README for the contract). */
export class BbdSimulator {
  private readonly orders = new Map<string, BbdOrderRecord>();
  private readonly byPartnerId = new Map<string, string>();
  private readonly random: () => number;
  private sequence = 0;

  constructor(
    private readonly seed: number,
    private readonly clock: () => number,
  ) {
    this.random = seededRandom(hashString(`${seed}:bbd-orders`));
  }

  /** Every order BBD holds, oldest first (the `GET /v1/_orders` view). */
  listOrders(): BbdOrderView[] {
    return [...this.orders.values()].map((order) => this.view(order));
  }

  definition(): DownstreamDefinition {
    const authed =
      (handler: (request: SimRequest) => SimResponse) =>
      (request: SimRequest): SimResponse => {
        const key = request.headers['x-api-key'];
        if (typeof key !== 'string' || key.trim() === '') {
          return bbdError(401, 'UNAUTHORIZED', 'missing or empty X-Api-Key header');
        }
        return handler(request);
      };
    return {
      errorResponse: (status, _route, message) =>
        bbdError(status, CODES[status] ?? `HTTP_${status}`, message),
      routes: [
        {
          name: 'create-order',
          method: 'POST',
          path: '/v1/orders',
          handle: authed((r) => this.createOrder(r)),
        },
        {
          name: 'find-orders',
          method: 'GET',
          path: '/v1/orders',
          handle: authed((r) => this.findOrders(r)),
        },
        {
          name: 'get-order',
          method: 'GET',
          path: '/v1/orders/:orderId',
          handle: authed((r) => this.getOrder(r)),
        },
        {
          name: 'cancel-order',
          method: 'POST',
          path: '/v1/orders/:orderId/cancel',
          handle: authed((r) => this.cancelOrder(r)),
        },
        {
          name: 'tracking',
          method: 'GET',
          path: '/v1/orders/:orderId/tracking',
          handle: authed((r) => this.tracking(r)),
        },
        {
          name: 'vacant-vehicles',
          method: 'GET',
          path: '/v1/vehicles/vacant',
          handle: authed((r) => this.vacant(r)),
        },
        {
          name: 'list-orders',
          method: 'GET',
          path: '/v1/_orders',
          simulatorOnly: true,
          handle: () => ({ status: 200, body: { orders: this.listOrders() } }),
        },
      ],
    };
  }

  private createOrder({ body, bodyError }: SimRequest): SimResponse {
    if (bodyError !== undefined) return bbdError(400, 'VALIDATION_ERROR', bodyError, 'body');
    if (!isRecord(body)) return bbdError(400, 'VALIDATION_ERROR', 'body must be a JSON object', 'body');
    const { partnerOrderId, passenger } = body;
    if (typeof partnerOrderId !== 'string' || partnerOrderId.trim() === '' || partnerOrderId.length > 128) {
      return bbdError(400, 'VALIDATION_ERROR', 'partnerOrderId must be a non-empty string', 'partnerOrderId');
    }
    const existingId = this.byPartnerId.get(partnerOrderId);
    if (existingId !== undefined) {
      const existing = this.orders.get(existingId);
      if (existing) return { status: 200, body: this.view(existing) };
    }
    const pickup = readLatLng(body.pickup, 'pickup');
    if ('error' in pickup) return bbdError(400, 'VALIDATION_ERROR', pickup.error, 'pickup');
    const dropoff = readLatLng(body.dropoff, 'dropoff');
    if ('error' in dropoff) return bbdError(400, 'VALIDATION_ERROR', dropoff.error, 'dropoff');
    let passengerValue: BbdOrderRecord['passenger'] = null;
    if (passenger !== undefined && passenger !== null) {
      if (!isRecord(passenger))
        return bbdError(400, 'VALIDATION_ERROR', 'passenger must be an object', 'passenger');
      const { name, phone } = passenger;
      if (name !== undefined && typeof name !== 'string') {
        return bbdError(400, 'VALIDATION_ERROR', 'passenger.name must be a string', 'passenger.name');
      }
      if (phone !== undefined && typeof phone !== 'string') {
        return bbdError(400, 'VALIDATION_ERROR', 'passenger.phone must be a string', 'passenger.phone');
      }
      passengerValue = { name, phone };
    }
    this.sequence += 1;
    const orderId = `BBD-${String(this.sequence).padStart(6, '0')}-${randomChars(this.random, 6, ALPHANUMERIC)}`;
    const record: BbdOrderRecord = {
      orderId,
      partnerOrderId,
      pickup,
      dropoff,
      passenger: passengerValue,
      createdAtMs: this.clock(),
      vehicle: this.vehicleFor(`order:${orderId}`, pickup),
    };
    this.orders.set(orderId, record);
    this.byPartnerId.set(partnerOrderId, orderId);
    return { status: 201, body: this.view(record) };
  }

  /** `GET /v1/orders?partnerOrderId=`: the partner's own lookup, for when a create's answer was lost. */
  private findOrders({ query }: SimRequest): SimResponse {
    const partnerOrderId = query.get('partnerOrderId');
    if (partnerOrderId === null || partnerOrderId.trim() === '') {
      return bbdError(400, 'VALIDATION_ERROR', 'partnerOrderId is required', 'partnerOrderId');
    }
    const orderId = this.byPartnerId.get(partnerOrderId);
    const order = orderId === undefined ? undefined : this.orders.get(orderId);
    return { status: 200, body: { orders: order ? [this.view(order)] : [] } };
  }

  private getOrder({ params }: SimRequest): SimResponse {
    const order = this.orders.get(params.orderId);
    if (!order) return bbdError(404, 'ORDER_NOT_FOUND', `order ${params.orderId} not found`);
    return { status: 200, body: this.view(order) };
  }

  private cancelOrder({ params }: SimRequest): SimResponse {
    const order = this.orders.get(params.orderId);
    if (!order) return bbdError(404, 'ORDER_NOT_FOUND', `order ${params.orderId} not found`);
    const status = this.status(order);
    if (status === 'completed')
      return bbdError(409, 'ORDER_COMPLETED', `order ${order.orderId} is already completed`);
    order.cancelledAtMs ??= this.clock();
    return { status: 200, body: this.view(order) };
  }

  private tracking({ params }: SimRequest): SimResponse {
    const order = this.orders.get(params.orderId);
    if (!order) return bbdError(404, 'ORDER_NOT_FOUND', `order ${params.orderId} not found`);
    const now = this.clock();
    const status = this.status(order);
    const progress = this.progress(order, now);
    const tripSeconds = this.tripMs(order) / 1000;
    const position =
      status === 'searching' || status === 'cancelled'
        ? null
        : status === 'driver_assigned'
          ? order.vehicle.position
          : {
              lat: order.pickup.lat + (order.dropoff.lat - order.pickup.lat) * progress,
              lng: order.pickup.lng + (order.dropoff.lng - order.pickup.lng) * progress,
            };
    return {
      status: 200,
      body: {
        orderId: order.orderId,
        partnerOrderId: order.partnerOrderId,
        status,
        vehicleId: status === 'searching' || status === 'cancelled' ? null : order.vehicle.vehicleId,
        position,
        heading: Math.round(bearingDegrees(order.pickup, order.dropoff)),
        speedKph: status === 'on_trip' ? TRIP_SPEED_KPH : 0,
        progress: Math.round(progress * 1000) / 1000,
        etaSeconds: status === 'on_trip' ? Math.round(tripSeconds * (1 - progress)) : null,
        updatedAt: new Date(now).toISOString(),
      },
    };
  }

  private vacant({ query }: SimRequest): SimResponse {
    const lat = Number(query.get('lat'));
    const lng = Number(query.get('lng'));
    if (query.get('lat') === null || !Number.isFinite(lat) || lat < -90 || lat > 90) {
      return bbdError(400, 'VALIDATION_ERROR', 'lat must be a number in [-90, 90]', 'lat');
    }
    if (query.get('lng') === null || !Number.isFinite(lng) || lng < -180 || lng > 180) {
      return bbdError(400, 'VALIDATION_ERROR', 'lng must be a number in [-180, 180]', 'lng');
    }
    const radiusText = query.get('radius');
    const radius = radiusText === null ? DEFAULT_RADIUS_METERS : Number(radiusText);
    if (!Number.isFinite(radius) || radius <= 0 || radius > MAX_RADIUS_METERS) {
      return bbdError(
        400,
        'VALIDATION_ERROR',
        `radius must be a number of meters in (0, ${MAX_RADIUS_METERS}]`,
        'radius',
      );
    }
    const center = { lat, lng };
    const spanLat = radius / 111_320 + CELL_DEGREES;
    const spanLng = radius / (111_320 * Math.max(0.01, Math.cos((lat * Math.PI) / 180))) + CELL_DEGREES;
    const vehicles: Array<BbdVehicle & { distanceMeters: number; etaSeconds: number }> = [];
    for (
      let cy = Math.floor((lat - spanLat) / CELL_DEGREES);
      cy <= Math.floor((lat + spanLat) / CELL_DEGREES);
      cy++
    ) {
      for (
        let cx = Math.floor((lng - spanLng) / CELL_DEGREES);
        cx <= Math.floor((lng + spanLng) / CELL_DEGREES);
        cx++
      ) {
        const random = seededRandom(hashString(`${this.seed}:cell:${cy}:${cx}`));
        const count = Math.floor(random() * 3);
        for (let i = 0; i < count; i++) {
          const position = {
            lat: round6((cy + random()) * CELL_DEGREES),
            lng: round6((cx + random()) * CELL_DEGREES),
          };
          const distanceMeters = Math.round(haversineMeters(center, position));
          if (distanceMeters > radius) continue;
          vehicles.push({
            ...this.vehicleFor(`cell:${cy}:${cx}:${i}`, position),
            distanceMeters,
            etaSeconds: Math.round((distanceMeters * 1.3) / (20 / 3.6)) + 60,
          });
        }
      }
    }
    vehicles.sort((a, b) => a.distanceMeters - b.distanceMeters || a.vehicleId.localeCompare(b.vehicleId));
    return { status: 200, body: { vehicles, radius, center } };
  }

  private vehicleFor(identity: string, position: LatLng): BbdVehicle {
    const random = seededRandom(hashString(`${this.seed}:vehicle:${identity}`));
    const number = 1000 + Math.floor(random() * 9000);
    return {
      vehicleId: `V-${randomChars(random, 8, ALPHANUMERIC)}`,
      plateNumber: `B ${number} ${randomChars(random, 3, 'ABCDEFGHJKLMNPRSTUVWXYZ')}`,
      driverName: DRIVERS[Math.floor(random() * DRIVERS.length)],
      vehicleType: random() < 0.7 ? 'sedan' : 'mpv',
      position,
    };
  }

  private tripMs(order: BbdOrderRecord): number {
    return Math.max(60_000, (haversineMeters(order.pickup, order.dropoff) / (TRIP_SPEED_KPH / 3.6)) * 1000);
  }

  private progress(order: BbdOrderRecord, now: number): number {
    const tripStart = order.createdAtMs + BBD_SEARCH_MS + BBD_APPROACH_MS;
    const end = order.cancelledAtMs ?? now;
    return Math.min(1, Math.max(0, (end - tripStart) / this.tripMs(order)));
  }

  private status(order: BbdOrderRecord): BbdOrderStatus {
    if (order.cancelledAtMs !== undefined) return 'cancelled';
    const elapsed = this.clock() - order.createdAtMs;
    if (elapsed < BBD_SEARCH_MS) return 'searching';
    if (elapsed < BBD_SEARCH_MS + BBD_APPROACH_MS) return 'driver_assigned';
    return elapsed < BBD_SEARCH_MS + BBD_APPROACH_MS + this.tripMs(order) ? 'on_trip' : 'completed';
  }

  private view(order: BbdOrderRecord): BbdOrderView {
    const status = this.status(order);
    return {
      orderId: order.orderId,
      partnerOrderId: order.partnerOrderId,
      status,
      pickup: order.pickup,
      dropoff: order.dropoff,
      passenger: order.passenger,
      vehicle: status === 'searching' ? null : order.vehicle,
      createdAt: new Date(order.createdAtMs).toISOString(),
      updatedAt: new Date(order.cancelledAtMs ?? this.clock()).toISOString(),
    };
  }
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
