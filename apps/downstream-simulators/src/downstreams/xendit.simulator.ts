import { hashString, hasBasicKey, isRecord, randomChars, seededRandom } from '../common/deterministic.util';
import type { DownstreamDefinition, SimRequest, SimResponse } from '../http/http.types';
import { readReference, sendWebhook } from './webhook.sender';

const DEFAULT_INVOICE_DURATION_SECONDS = 86_400;

type InvoiceStatus = 'PENDING' | 'PAID' | 'EXPIRED';

interface XenditInvoice {
  id: string;
  external_id: string;
  user_id: string;
  status: InvoiceStatus;
  merchant_name: string;
  amount: number;
  payer_email?: string;
  description?: string;
  invoice_url: string;
  expiry_date: string;
  currency: 'IDR';
  created: string;
  updated: string;
  paid_at?: string;
  payment_method?: string;
  payment_channel?: string;
}

/** Options of the simulated Xendit invoices API. */
export interface XenditSimulatorOptions {
  secretKey: string;
  callbackToken: string;
  webhookUrl: string;
  clock: () => number;
  seed: number;
}

function xenditError(status: number, code: string, message: string): SimResponse {
  return { status, body: { error_code: code, message } };
}

function codeFor(status: number): string {
  if (status === 429) return 'RATE_LIMIT_EXCEEDED';
  if (status === 401) return 'INVALID_API_KEY';
  if (status === 404) return 'NOT_FOUND';
  if (status === 400) return 'API_VALIDATION_ERROR';
  if (status === 503) return 'SERVICE_UNAVAILABLE';
  return status >= 500 ? 'SERVER_ERROR' : 'REQUEST_ERROR';
}

/** The Xendit simulator: invoices, expire, and `/_simulate/pay|expire` callbacks. */
export class XenditSimulator {
  private readonly invoices = new Map<string, XenditInvoice>();
  private readonly random: () => number;

  constructor(private readonly options: XenditSimulatorOptions) {
    this.random = seededRandom(hashString(`${options.seed}:xendit`));
  }

  definition(): DownstreamDefinition {
    return {
      errorResponse: (status, _route, message) => xenditError(status, codeFor(status), message),
      routes: [
        { name: 'create-invoice', method: 'POST', path: '/v2/invoices', handle: (r) => this.create(r) },
        { name: 'list-invoices', method: 'GET', path: '/v2/invoices', handle: (r) => this.list(r) },
        { name: 'get-invoice', method: 'GET', path: '/v2/invoices/:id', handle: (r) => this.get(r) },
        {
          name: 'expire-invoice',
          method: 'POST',
          path: '/invoices/:id/expire!',
          handle: (r) => this.expire(r),
        },
        {
          name: 'payment-page',
          method: 'GET',
          path: '/web/:id',
          simulatorOnly: true,
          handle: ({ params }) => ({
            status: 200,
            contentType: 'text/html; charset=utf-8',
            body: `<!doctype html><title>Xendit Invoice (simulated)</title><p>Invoice ${params.id}</p>`,
          }),
        },
        {
          name: 'simulate-pay',
          method: 'POST',
          path: '/_simulate/pay',
          simulatorOnly: true,
          handle: (r) => this.simulate(r, 'PAID'),
        },
        {
          name: 'simulate-expire',
          method: 'POST',
          path: '/_simulate/expire',
          simulatorOnly: true,
          handle: (r) => this.simulate(r, 'EXPIRED'),
        },
      ],
    };
  }

  private unauthorized(request: SimRequest): SimResponse | undefined {
    if (hasBasicKey(request.headers.authorization, this.options.secretKey)) return undefined;
    return xenditError(401, 'INVALID_API_KEY', 'API key is not authorized for this API service');
  }

  private create(request: SimRequest): SimResponse {
    const denied = this.unauthorized(request);
    if (denied) return denied;
    const { body, bodyError } = request;
    if (bodyError !== undefined || !isRecord(body))
      return xenditError(400, 'API_VALIDATION_ERROR', 'body must be a JSON object');
    const {
      external_id: externalId,
      amount,
      payer_email: payerEmail,
      description,
      invoice_duration: duration,
    } = body;
    if (typeof externalId !== 'string' || externalId === '') {
      return xenditError(400, 'API_VALIDATION_ERROR', 'external_id is required');
    }
    if (typeof amount !== 'number' || !Number.isFinite(amount)) {
      return xenditError(400, 'API_VALIDATION_ERROR', 'amount must be a number');
    }
    if (amount < 1)
      return xenditError(400, 'API_VALIDATION_ERROR', 'amount must be greater than or equal to 1');
    if (payerEmail !== undefined && (typeof payerEmail !== 'string' || !payerEmail.includes('@'))) {
      return xenditError(400, 'API_VALIDATION_ERROR', 'payer_email must be a valid email');
    }
    if (description !== undefined && typeof description !== 'string') {
      return xenditError(400, 'API_VALIDATION_ERROR', 'description must be a string');
    }
    if (
      duration !== undefined &&
      (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 1)
    ) {
      return xenditError(400, 'API_VALIDATION_ERROR', 'invoice_duration must be a positive integer');
    }
    const now = this.options.clock();
    const id = randomChars(this.random, 24, '0123456789abcdef');
    const invoice: XenditInvoice = {
      id,
      external_id: externalId,
      user_id: '5f0000000000000000000001',
      status: 'PENDING',
      merchant_name: 'Ride Resilience (simulated)',
      amount,
      payer_email: payerEmail,
      description,
      invoice_url: `${request.baseUrl}/web/${id}`,
      expiry_date: new Date(now + (duration ?? DEFAULT_INVOICE_DURATION_SECONDS) * 1000).toISOString(),
      currency: 'IDR',
      created: new Date(now).toISOString(),
      updated: new Date(now).toISOString(),
    };
    // Like the real API, external_id is not unique: a repeat creates another invoice.
    this.invoices.set(id, invoice);
    return { status: 200, body: this.view(invoice) };
  }

  private list(request: SimRequest): SimResponse {
    const denied = this.unauthorized(request);
    if (denied) return denied;
    const externalId = request.query.get('external_id');
    const all = [...this.invoices.values()];
    const found = externalId === null ? all : all.filter((invoice) => invoice.external_id === externalId);
    return { status: 200, body: found.map((invoice) => this.view(invoice)) };
  }

  private get(request: SimRequest): SimResponse {
    const denied = this.unauthorized(request);
    if (denied) return denied;
    const invoice = this.invoices.get(request.params.id);
    if (!invoice) return xenditError(404, 'INVOICE_NOT_FOUND_ERROR', 'Could not find invoice');
    return { status: 200, body: this.view(invoice) };
  }

  private expire(request: SimRequest): SimResponse {
    const denied = this.unauthorized(request);
    if (denied) return denied;
    const invoice = this.invoices.get(request.params.id);
    if (!invoice) return xenditError(404, 'INVOICE_NOT_FOUND_ERROR', 'Could not find invoice');
    if (invoice.status === 'PAID')
      return xenditError(400, 'INVOICE_ALREADY_PAID_ERROR', 'Invoice is already paid');
    if (invoice.status === 'PENDING') this.markExpired(invoice);
    return { status: 200, body: this.view(invoice) };
  }

  private async simulate(request: SimRequest, target: 'PAID' | 'EXPIRED'): Promise<SimResponse> {
    const reference = readReference(request.body);
    if (reference === undefined) {
      return xenditError(400, 'API_VALIDATION_ERROR', 'reference (invoice id or external_id) is required');
    }
    const invoice =
      this.invoices.get(reference) ??
      [...this.invoices.values()].reverse().find((candidate) => candidate.external_id === reference);
    if (!invoice) return xenditError(404, 'INVOICE_NOT_FOUND_ERROR', 'Could not find invoice');
    if (invoice.status !== 'PENDING' && invoice.status !== target) {
      return xenditError(409, 'INVALID_STATUS', `invoice is already ${invoice.status}`);
    }
    if (target === 'PAID' && invoice.status === 'PENDING') {
      const now = new Date(this.options.clock()).toISOString();
      Object.assign(invoice, {
        status: 'PAID',
        paid_at: now,
        updated: now,
        payment_method: 'BANK_TRANSFER',
        payment_channel: 'BCA',
      });
    } else if (target === 'EXPIRED') {
      this.markExpired(invoice);
    }
    const notification = this.callback(invoice);
    const delivery = await sendWebhook(this.options.webhookUrl, notification, {
      'x-callback-token': this.options.callbackToken,
      'webhook-id': `whk-${randomChars(this.random, 16, '0123456789abcdef')}`,
    });
    return { status: 200, body: { ...delivery, notification } };
  }

  private markExpired(invoice: XenditInvoice): void {
    invoice.status = 'EXPIRED';
    invoice.updated = new Date(this.options.clock()).toISOString();
  }

  /** The invoice callback body Xendit POSTs (with `x-callback-token`). */
  private callback(invoice: XenditInvoice): Record<string, unknown> {
    return {
      id: invoice.id,
      external_id: invoice.external_id,
      user_id: invoice.user_id,
      is_high: false,
      status: invoice.status,
      merchant_name: invoice.merchant_name,
      amount: invoice.amount,
      ...(invoice.status === 'PAID'
        ? {
            paid_amount: invoice.amount,
            paid_at: invoice.paid_at,
            payment_method: invoice.payment_method,
            bank_code: invoice.payment_channel,
            payment_channel: invoice.payment_channel,
            payment_destination: '8808999912345678',
          }
        : {}),
      payer_email: invoice.payer_email,
      description: invoice.description,
      currency: invoice.currency,
      created: invoice.created,
      updated: invoice.updated,
    };
  }

  private view(invoice: XenditInvoice): Record<string, unknown> {
    return {
      ...invoice,
      available_banks: [
        {
          bank_code: 'BCA',
          collection_type: 'POOL',
          transfer_amount: invoice.amount,
          bank_branch: 'Virtual Account',
        },
      ],
      should_exclude_credit_card: false,
      should_send_email: false,
    };
  }
}
