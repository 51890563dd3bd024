import { createHash } from 'node:crypto';
import { ResilientHttpClient, type Breaker, type Clock } from '@app/resilience';
import type { Registry } from 'prom-client';
import {
  DuplicateReferenceError,
  GatewayProtocolError,
  GatewayRefusedError,
  UnresolvableOrphanError,
  type ExpiryOutcome,
  type GatewayLink,
  type GatewayLinkRequest,
  type GatewayProbe,
  type OrphanExpiry,
  type PaymentGatewayClient,
} from './payment-gateway.client';

interface NicepayAnswer {
  resultCd?: unknown;
  resultMsg?: unknown;
  tXid?: unknown;
  paymentURL?: unknown;
}

const SUCCESS = '0000';
const DUPLICATE_REFERENCE = '9009';
const NOT_FOUND = '9012';
const ALREADY_PAID = '9013';

export interface NicepayClientOptions {
  baseUrl: string;
  merchantKey: string;
  iMid: string;
  /** Where Nicepay posts payment notifications (dbProcessUrl) and sends the customer back. */
  publicBaseUrl: string;
  breaker: Breaker;
  registry?: Registry;
  clock?: Clock;
}

/** hex(SHA256(parts joined)): how Nicepay builds every merchantToken. */
export function nicepayMerchantToken(...parts: string[]): string {
  return createHash('sha256').update(parts.join('')).digest('hex');
}

/**
 * Nicepay V2 redirect API; `referenceNo` is our link id. Inquiry and cancel need the tXid, which
 * only the registration answer carries, so after an unknown outcome the registration itself is
 * repeated: Nicepay refuses a second one for the same referenceNo (9009), which makes it a probe.
 */
export class NicepayClient implements PaymentGatewayClient {
  readonly gateway = 'nicepay' as const;
  readonly breaker: Breaker;
  private readonly http: ResilientHttpClient;
  private readonly clock: Clock;

  constructor(private readonly options: NicepayClientOptions) {
    this.breaker = options.breaker;
    this.clock = options.clock ?? Date.now;
    this.http = new ResilientHttpClient({
      downstream: 'nicepay',
      baseUrl: options.baseUrl,
      headers: { accept: 'application/json' },
      registry: options.registry,
      clock: options.clock,
    });
  }

  async create(request: GatewayLinkRequest, signal: AbortSignal): Promise<GatewayLink> {
    const answer = await this.register(request, signal);
    if (answer.resultCd === DUPLICATE_REFERENCE)
      throw new DuplicateReferenceError('nicepay', request.reference);
    return this.toLink(answer);
  }

  probe(request: GatewayLinkRequest): Promise<GatewayProbe> {
    return this.breaker.execute(async (signal) => {
      const answer = await this.register(request, signal);
      if (answer.resultCd === DUPLICATE_REFERENCE) {
        return { state: 'unusable', detail: 'registered, but its tXid is unknown' };
      }
      return { state: 'payable', link: this.toLink(answer) };
    });
  }

  async expire(
    orphan: OrphanExpiry,
    signal: AbortSignal,
    remember: (gatewayRef: string) => Promise<void>,
  ): Promise<ExpiryOutcome> {
    let tXid = orphan.gatewayRef;
    if (tXid === null) {
      // Registering the reference ourselves gives us a tXid to cancel and burns the referenceNo.
      const answer = await this.register(orphan, signal);
      if (answer.resultCd === DUPLICATE_REFERENCE) {
        throw new UnresolvableOrphanError(
          `nicepay: reference ${orphan.reference} is registered but its tXid is unknown; cancel it in the Nicepay dashboard`,
        );
      }
      tXid = this.toLink(answer).gatewayRef;
      // Kept before cancelling: a failed cancel is retried, and the next registration would answer 9009.
      await remember(tXid);
    }
    const timeStamp = nicepayTimestamp(this.clock());
    const amt = String(orphan.amount);
    const response = await this.http.post<NicepayAnswer>(
      '/nicepay/direct/v2/cancel',
      {
        timeStamp,
        tXid,
        iMid: this.options.iMid,
        payMethod: '00',
        cancelType: '1',
        amt,
        referenceNo: orphan.reference,
        merchantToken: nicepayMerchantToken(
          timeStamp,
          this.options.iMid,
          tXid,
          amt,
          this.options.merchantKey,
        ),
      },
      { signal, idempotent: true },
    );
    const code = String(response.data?.resultCd ?? '');
    if (code === SUCCESS) return 'expired';
    if (code === ALREADY_PAID) return 'paid';
    if (code === NOT_FOUND) return 'absent';
    throw new GatewayRefusedError('nicepay', code, String(response.data?.resultMsg ?? 'cancel refused'));
  }

  /** POST registration; throws GatewayRefusedError for any result but success and duplicate. */
  private async register(
    request: Pick<GatewayLinkRequest, 'reference' | 'orderId' | 'amount' | 'customer' | 'description'>,
    signal: AbortSignal,
  ): Promise<NicepayAnswer> {
    const timeStamp = nicepayTimestamp(this.clock());
    const amt = String(request.amount);
    const { iMid, merchantKey, publicBaseUrl } = this.options;
    const response = await this.http.post<NicepayAnswer>(
      '/nicepay/redirect/v2/registration',
      {
        timeStamp,
        iMid,
        payMethod: '00',
        currency: 'IDR',
        amt,
        referenceNo: request.reference,
        goodsNm: (request.description ?? `Ride order ${request.orderId}`).slice(0, 100),
        billingNm: request.customer.name,
        billingEmail: request.customer.email,
        billingPhone: '',
        dbProcessUrl: `${publicBaseUrl}/webhooks/nicepay`,
        callBackUrl: `${publicBaseUrl}/payment-links/${encodeURIComponent(request.reference)}`,
        merchantToken: nicepayMerchantToken(timeStamp, iMid, request.reference, amt, merchantKey),
      },
      { signal },
    );
    const answer = response.data ?? {};
    const code = String(answer.resultCd ?? '');
    if (code !== SUCCESS && code !== DUPLICATE_REFERENCE) {
      throw new GatewayRefusedError('nicepay', code, String(answer.resultMsg ?? 'registration refused'));
    }
    return answer;
  }

  private toLink(answer: NicepayAnswer): GatewayLink {
    if (typeof answer.tXid !== 'string' || typeof answer.paymentURL !== 'string') {
      throw new GatewayProtocolError('nicepay', 'registration answer without tXid or paymentURL');
    }
    return { gatewayRef: answer.tXid, url: `${answer.paymentURL}?tXid=${encodeURIComponent(answer.tXid)}` };
  }
}

/** YYYYMMDDHHmmss in Jakarta time (UTC+7), as Nicepay expects. */
export function nicepayTimestamp(ms: number): string {
  return new Date(ms + 7 * 3_600_000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
