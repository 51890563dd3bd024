import { createHash } from 'node:crypto';
import { hashString, isRecord } from '../common/deterministic.util';
import type { DownstreamDefinition, SimRequest, SimResponse } from '../http/http.types';
import { readReference, sendWebhook } from './webhook.sender';

/** Nicepay transaction status codes (`status` in inquiry and notification). */
export const NICEPAY_STATUS = { paid: '0', cancelled: '2', expired: '4', pending: '9' } as const;

type NicepayState = keyof typeof NICEPAY_STATUS;

interface NicepayTransaction {
  tXid: string;
  referenceNo: string;
  amt: string;
  payMethod: string;
  goodsNm: string;
  billingNm: string;
  state: NicepayState;
  createdAtMs: number;
}

/** Options of the simulated Nicepay V2 redirect API. */
export interface NicepaySimulatorOptions {
  merchantKey: string;
  iMid: string;
  webhookUrl: string;
  clock: () => number;
  seed: number;
}

/** hex(SHA256(concatenated parts)): every Nicepay merchantToken is built this way. */
export function nicepayToken(...parts: string[]): string {
  return createHash('sha256').update(parts.join('')).digest('hex');
}

function result(
  resultCd: string,
  resultMsg: string,
  extra?: Record<string, unknown>,
  status = 200,
): SimResponse {
  return { status, body: { resultCd, resultMsg, ...extra } };
}

/** Nicepay "YYYYMMDD" and "HHmmss" in Jakarta time. */
function transDateTime(ms: number): { transDt: string; transTm: string } {
  const iso = new Date(ms + 7 * 3_600_000).toISOString();
  return { transDt: iso.slice(0, 10).replace(/-/g, ''), transTm: iso.slice(11, 19).replace(/:/g, '') };
}

/** Reads a string or integer field as Nicepay sends it (amounts may be either). */
function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  return undefined;
}

/** The Nicepay simulator: registration, inquiry, cancel, and `/_simulate/pay|expire`. */
export class NicepaySimulator {
  private readonly byTxid = new Map<string, NicepayTransaction>();
  private readonly byReference = new Map<string, NicepayTransaction>();
  private sequence = 0;

  constructor(private readonly options: NicepaySimulatorOptions) {}

  definition(): DownstreamDefinition {
    return {
      errorResponse: (status, _route, message) => result('9999', message, undefined, status),
      routes: [
        {
          name: 'registration',
          method: 'POST',
          path: '/nicepay/redirect/v2/registration',
          handle: (r) => this.register(r),
        },
        {
          name: 'inquiry',
          method: 'POST',
          path: '/nicepay/direct/v2/inquiry',
          handle: (r) => this.inquiry(r),
        },
        { name: 'cancel', method: 'POST', path: '/nicepay/direct/v2/cancel', handle: (r) => this.cancel(r) },
        {
          name: 'payment-page',
          method: 'GET',
          path: '/nicepay/redirect/v2/payment',
          simulatorOnly: true,
          handle: ({ query }) => ({
            status: 200,
            contentType: 'text/html; charset=utf-8',
            body: `<!doctype html><title>Nicepay (simulated)</title><p>Payment page for ${query.get('tXid') ?? '?'}</p>`,
          }),
        },
        {
          name: 'simulate-pay',
          method: 'POST',
          path: '/_simulate/pay',
          simulatorOnly: true,
          handle: (r) => this.simulate(r, 'paid'),
        },
        {
          name: 'simulate-expire',
          method: 'POST',
          path: '/_simulate/expire',
          simulatorOnly: true,
          handle: (r) => this.simulate(r, 'expired'),
        },
      ],
    };
  }

  /** Reads the mandatory fields; answers `9001` naming the first one missing. */
  private fields(
    request: SimRequest,
    names: string[],
  ): { values: Record<string, string> } | { rejection: SimResponse } {
    if (request.bodyError !== undefined || !isRecord(request.body)) {
      return { rejection: result('9001', 'Invalid JSON request body') };
    }
    const values: Record<string, string> = {};
    for (const name of names) {
      const value = text(request.body[name]);
      if (value === undefined)
        return { rejection: result('9001', `Mandatory parameter ${name} is missing or invalid`) };
      values[name] = value;
    }
    return { values };
  }

  private register(request: SimRequest): SimResponse {
    const fields = this.fields(request, ['timeStamp', 'iMid', 'referenceNo', 'amt', 'merchantToken']);
    if ('rejection' in fields) return fields.rejection;
    const { timeStamp, iMid, referenceNo, amt, merchantToken } = fields.values;
    if (!/^\d{14}$/.test(timeStamp)) return result('9001', 'timeStamp must be YYYYMMDDHHmmss');
    if (!/^\d+$/.test(amt) || Number(amt) < 1) return result('9001', 'amt must be a positive integer');
    if (iMid !== this.options.iMid) return result('9008', 'Invalid merchant ID (iMid)');
    const expected = nicepayToken(timeStamp, iMid, referenceNo, amt, this.options.merchantKey);
    if (merchantToken.toLowerCase() !== expected) return result('9010', 'Merchant Token is not matched');
    if (this.byReference.has(referenceNo)) return result('9009', 'Duplicate referenceNo');
    const body = request.body as Record<string, unknown>;
    const now = this.options.clock();
    this.sequence += 1;
    const { transDt, transTm } = transDateTime(now);
    const payMethod = text(body.payMethod) ?? '00';
    const tXid = `${iMid}${payMethod.padStart(2, '0')}${transDt.slice(2)}${transTm.slice(0, 4)}${String(
      (hashString(`${this.options.seed}:${referenceNo}`) % 9000) + 1000,
    )}${String(this.sequence).padStart(4, '0')}`;
    const transaction: NicepayTransaction = {
      tXid,
      referenceNo,
      amt,
      payMethod,
      goodsNm: text(body.goodsNm) ?? '',
      billingNm: text(body.billingNm) ?? '',
      state: 'pending',
      createdAtMs: now,
    };
    this.byTxid.set(tXid, transaction);
    this.byReference.set(referenceNo, transaction);
    return result('0000', 'SUCCESS', {
      tXid,
      referenceNo,
      amt,
      transDt,
      transTm,
      description: text(body.description) ?? '',
      // As in the real API, the client opens paymentURL + '?tXid=' + tXid.
      paymentURL: `${request.baseUrl}/nicepay/redirect/v2/payment`,
    });
  }

  private inquiry(request: SimRequest): SimResponse {
    const fields = this.fields(request, ['timeStamp', 'iMid', 'tXid', 'referenceNo', 'amt', 'merchantToken']);
    if ('rejection' in fields) return fields.rejection;
    const { timeStamp, iMid, tXid, referenceNo, amt, merchantToken } = fields.values;
    if (iMid !== this.options.iMid) return result('9008', 'Invalid merchant ID (iMid)');
    if (
      merchantToken.toLowerCase() !==
      nicepayToken(timeStamp, iMid, referenceNo, amt, this.options.merchantKey)
    ) {
      return result('9010', 'Merchant Token is not matched');
    }
    const transaction = this.byTxid.get(tXid);
    if (!transaction || transaction.referenceNo !== referenceNo)
      return result('9012', 'Transaction not found');
    const { transDt, transTm } = transDateTime(transaction.createdAtMs);
    return result('0000', 'SUCCESS', {
      tXid,
      iMid,
      referenceNo,
      amt: transaction.amt,
      currency: 'IDR',
      payMethod: transaction.payMethod,
      goodsNm: transaction.goodsNm,
      billingNm: transaction.billingNm,
      status: NICEPAY_STATUS[transaction.state],
      transDt,
      transTm,
    });
  }

  private cancel(request: SimRequest): SimResponse {
    const fields = this.fields(request, ['timeStamp', 'iMid', 'tXid', 'amt', 'merchantToken']);
    if ('rejection' in fields) return fields.rejection;
    const { timeStamp, iMid, tXid, amt, merchantToken } = fields.values;
    if (iMid !== this.options.iMid) return result('9008', 'Invalid merchant ID (iMid)');
    if (merchantToken.toLowerCase() !== nicepayToken(timeStamp, iMid, tXid, amt, this.options.merchantKey)) {
      return result('9010', 'Merchant Token is not matched');
    }
    const transaction = this.byTxid.get(tXid);
    if (!transaction) return result('9012', 'Transaction not found');
    if (transaction.amt !== amt) return result('9011', 'Cancel amount does not match');
    if (transaction.state === 'paid') return result('9013', 'Paid transaction cannot be cancelled');
    if (transaction.state === 'pending') transaction.state = 'cancelled';
    const { transDt, transTm } = transDateTime(this.options.clock());
    return result('0000', 'SUCCESS', {
      tXid,
      referenceNo: transaction.referenceNo,
      amt,
      transDt,
      transTm,
      description: 'Cancelled',
    });
  }

  private async simulate(request: SimRequest, target: 'paid' | 'expired'): Promise<SimResponse> {
    const reference = readReference(request.body);
    if (reference === undefined)
      return result('9001', 'reference (referenceNo or tXid) is required', undefined, 400);
    const transaction = this.byReference.get(reference) ?? this.byTxid.get(reference);
    if (!transaction) return result('9012', 'Transaction not found', undefined, 404);
    if (transaction.state !== 'pending' && transaction.state !== target) {
      return result('9013', `transaction is already ${transaction.state}`, undefined, 409);
    }
    transaction.state = target;
    const notification = this.notification(transaction);
    const delivery = await sendWebhook(this.options.webhookUrl, notification);
    return { status: 200, body: { ...delivery, notification } };
  }

  /** The payment notification (dbProcessUrl) with merchantToken = SHA256(iMid + tXid + amt + merchantKey). */
  private notification(transaction: NicepayTransaction): Record<string, unknown> {
    const { transDt, transTm } = transDateTime(this.options.clock());
    return {
      tXid: transaction.tXid,
      referenceNo: transaction.referenceNo,
      amt: transaction.amt,
      iMid: this.options.iMid,
      merchantToken: nicepayToken(
        this.options.iMid,
        transaction.tXid,
        transaction.amt,
        this.options.merchantKey,
      ),
      payMethod: transaction.payMethod,
      currency: 'IDR',
      status: NICEPAY_STATUS[transaction.state],
      goodsNm: transaction.goodsNm,
      billingNm: transaction.billingNm,
      transDt,
      transTm,
      matchCl: '1',
    };
  }
}
