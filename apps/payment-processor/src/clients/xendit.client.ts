import { ResilientHttpClient, type Breaker, type Clock } from '@app/resilience';
import type { Registry } from 'prom-client';
import {
  basicAuth,
  GatewayProtocolError,
  type ExpiryOutcome,
  type GatewayLink,
  type GatewayLinkRequest,
  type GatewayProbe,
  type OrphanExpiry,
  type PaymentGatewayClient,
} from './payment-gateway.client';

interface XenditInvoice {
  id?: unknown;
  external_id?: unknown;
  status?: unknown;
  invoice_url?: unknown;
}

export interface XenditClientOptions {
  baseUrl: string;
  secretKey: string;
  breaker: Breaker;
  registry?: Registry;
  clock?: Clock;
}

/** Xendit invoices; `external_id` is our link id (Xendit does not enforce its uniqueness). */
export class XenditClient implements PaymentGatewayClient {
  readonly gateway = 'xendit' as const;
  readonly breaker: Breaker;
  private readonly http: ResilientHttpClient;

  constructor(options: XenditClientOptions) {
    this.breaker = options.breaker;
    this.http = new ResilientHttpClient({
      downstream: 'xendit',
      baseUrl: options.baseUrl,
      headers: { authorization: basicAuth(options.secretKey), accept: 'application/json' },
      registry: options.registry,
      clock: options.clock,
    });
  }

  async create(request: GatewayLinkRequest, signal: AbortSignal): Promise<GatewayLink> {
    const response = await this.http.post<XenditInvoice>(
      '/v2/invoices',
      {
        external_id: request.reference,
        amount: request.amount,
        currency: 'IDR',
        payer_email: request.customer.email,
        description: request.description ?? `Ride order ${request.orderId}`,
        customer: { given_names: request.customer.name, email: request.customer.email },
      },
      { signal },
    );
    return toLink(response.data);
  }

  probe(request: GatewayLinkRequest): Promise<GatewayProbe> {
    return this.breaker.execute(async (signal) => {
      const invoices = await this.byExternalId(request.reference, signal);
      const pending = invoices.filter((invoice) => invoice.status === 'PENDING');
      if (pending.length === 1) return { state: 'payable', link: toLink(pending[0]) };
      // Two pending invoices for one reference cannot be told apart: expire both and move on.
      if (pending.length > 1) return { state: 'unusable', detail: `${pending.length} pending invoices` };
      if (invoices.length === 0) return { state: 'absent' };
      return { state: 'closed', detail: invoices.map((invoice) => String(invoice.status)).join(',') };
    });
  }

  async expire(orphan: OrphanExpiry, signal: AbortSignal): Promise<ExpiryOutcome> {
    const invoices = await this.byExternalId(orphan.reference, signal);
    if (invoices.length === 0) return 'absent';
    let paid = false;
    for (const invoice of invoices) {
      if (invoice.status === 'PAID' || invoice.status === 'SETTLED') paid = true;
      if (invoice.status !== 'PENDING' || typeof invoice.id !== 'string') continue;
      await this.http.post(`/invoices/${encodeURIComponent(invoice.id)}/expire!`, undefined, {
        signal,
        idempotent: true,
      });
    }
    return paid ? 'paid' : 'expired';
  }

  private async byExternalId(reference: string, signal: AbortSignal): Promise<XenditInvoice[]> {
    const response = await this.http.get<unknown>('/v2/invoices', {
      query: { external_id: reference },
      signal,
    });
    if (!Array.isArray(response.data))
      throw new GatewayProtocolError('xendit', 'invoice list is not an array');
    return (response.data as XenditInvoice[]).filter((invoice) => invoice.external_id === reference);
  }
}

function toLink(invoice: XenditInvoice | undefined): GatewayLink {
  if (typeof invoice?.id !== 'string' || typeof invoice.invoice_url !== 'string') {
    throw new GatewayProtocolError('xendit', 'invoice without id or invoice_url');
  }
  return { gatewayRef: invoice.id, url: invoice.invoice_url };
}
