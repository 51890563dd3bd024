import { isHttpClientError, ResilientHttpClient, type Breaker, type Clock } from '@app/resilience';
import type { Registry } from 'prom-client';
import {
  basicAuth,
  DuplicateReferenceError,
  GatewayProtocolError,
  type ExpiryOutcome,
  type GatewayLink,
  type GatewayLinkRequest,
  type GatewayProbe,
  type OrphanExpiry,
  type PaymentGatewayClient,
} from './payment-gateway.client';

interface SnapResponse {
  token?: unknown;
  redirect_url?: unknown;
}

interface MidtransStatusBody {
  status_code?: unknown;
  transaction_status?: unknown;
}

export interface MidtransClientOptions {
  baseUrl: string;
  serverKey: string;
  breaker: Breaker;
  registry?: Registry;
  clock?: Clock;
}

/** Midtrans Snap (create) and Core API (status, expire); `order_id` is our link id. */
export class MidtransClient implements PaymentGatewayClient {
  readonly gateway = 'midtrans' as const;
  readonly breaker: Breaker;
  private readonly http: ResilientHttpClient;

  constructor(options: MidtransClientOptions) {
    this.breaker = options.breaker;
    // No breaker on the HTTP client: failover() and probe()/expire() run calls through it once.
    this.http = new ResilientHttpClient({
      downstream: 'midtrans',
      baseUrl: options.baseUrl,
      headers: { authorization: basicAuth(options.serverKey), accept: 'application/json' },
      registry: options.registry,
      clock: options.clock,
    });
  }

  async create(request: GatewayLinkRequest, signal: AbortSignal): Promise<GatewayLink> {
    try {
      const response = await this.http.post<SnapResponse>(
        '/snap/v1/transactions',
        {
          transaction_details: { order_id: request.reference, gross_amount: request.amount },
          customer_details: { first_name: request.customer.name, email: request.customer.email },
          item_details: [
            { id: request.orderId, price: request.amount, quantity: 1, name: itemName(request) },
          ],
        },
        { signal },
      );
      const { token, redirect_url: url } = response.data ?? {};
      if (typeof token !== 'string' || typeof url !== 'string') {
        throw new GatewayProtocolError('midtrans', 'Snap answer without token or redirect_url');
      }
      return { gatewayRef: token, url };
    } catch (err: unknown) {
      if (isHttpClientError(err) && err.status === 400 && mentionsTaken(err.body)) {
        throw new DuplicateReferenceError('midtrans', request.reference);
      }
      throw err;
    }
  }

  /** The Core status API has no Snap token or URL: an existing pending transaction cannot be handed out. */
  probe(request: GatewayLinkRequest): Promise<GatewayProbe> {
    return this.breaker.execute(async (signal) => {
      try {
        const response = await this.http.get<MidtransStatusBody>(
          `/v2/${encodeURIComponent(request.reference)}/status`,
          {
            signal,
          },
        );
        const body = response.data ?? {};
        if (body.status_code === '404') return { state: 'absent' };
        const status = String(body.transaction_status ?? '');
        if (status === 'pending')
          return { state: 'unusable', detail: 'pending, but Midtrans status gives no Snap URL' };
        if (status === 'settlement' || status === 'capture')
          return { state: 'unusable', detail: `already ${status}` };
        return { state: 'closed', detail: status || 'unknown status' };
      } catch (err: unknown) {
        if (isHttpClientError(err) && err.status === 404) return { state: 'absent' };
        throw err;
      }
    });
  }

  async expire(orphan: OrphanExpiry, signal: AbortSignal): Promise<ExpiryOutcome> {
    try {
      const response = await this.http.post<MidtransStatusBody>(
        `/v2/${encodeURIComponent(orphan.reference)}/expire`,
        undefined,
        { signal, idempotent: true },
      );
      if (response.data?.status_code === '404') return 'absent';
      return 'expired';
    } catch (err: unknown) {
      if (isHttpClientError(err) && err.status === 404) return 'absent';
      // 412: Midtrans will not modify a settled transaction.
      if (isHttpClientError(err) && err.status === 412) return 'paid';
      throw err;
    }
  }
}

function itemName(request: GatewayLinkRequest): string {
  return (request.description ?? `Ride order ${request.orderId}`).slice(0, 50);
}

function mentionsTaken(body: unknown): boolean {
  const messages = (body as { error_messages?: unknown } | null)?.error_messages;
  return (
    Array.isArray(messages) && messages.some((m) => typeof m === 'string' && /already been taken/i.test(m))
  );
}
