import type { Breaker } from '@app/resilience';
import { ResilientHttpClient } from '@app/resilience';
import type { Registry } from 'prom-client';
import type { AssignedVehicle } from '../database/tpg.tables';

/** The body of `POST /internal/dispatch-events` (API.md, Order Orchestrator). */
export interface DispatchEvent {
  orderId: string;
  dispatchId: string;
  status: 'dispatched' | 'queued' | 'driver_assigned';
  vehicle?: AssignedVehicle;
}

export interface OrderOrchestratorClientOptions {
  baseUrl: string;
  /** `order-orchestrator-callbacks`. */
  breaker: Breaker;
  registry?: Registry;
}

/** Tells the Order Orchestrator about dispatch status changes. */
export class OrderOrchestratorClient {
  private readonly http: ResilientHttpClient;

  constructor(readonly options: OrderOrchestratorClientOptions) {
    // Unguarded: the outbox replayer runs every send inside the breaker already.
    this.http = new ResilientHttpClient({
      downstream: 'order-orchestrator',
      baseUrl: options.baseUrl,
      registry: options.registry,
      maxSockets: 10,
    });
  }

  /** `order-orchestrator-callbacks`, which the outbox replayer sends through. */
  get breaker(): Breaker {
    return this.options.breaker;
  }

  /** Sends one event; call inside the breaker, whose deadline fires `signal`. */
  async sendDispatchEvent(event: DispatchEvent, signal: AbortSignal): Promise<void> {
    await this.http.post<unknown>('/internal/dispatch-events', event, { signal });
  }

  close(): void {
    this.http.close();
  }
}
