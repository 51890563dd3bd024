import { createHash } from 'node:crypto';
import { hashString, hasBasicKey, isRecord, randomChars, seededRandom } from '../common/deterministic.util';
import type { DownstreamDefinition, SimRequest, SimResponse } from '../http/http.types';
import { readReference, sendWebhook } from './webhook.sender';

const HEX = '0123456789abcdef';

type MidtransStatus = 'pending' | 'settlement' | 'expire';

const STATUS_CODE: Record<MidtransStatus, string> = { pending: '201', settlement: '200', expire: '407' };

interface MidtransTransaction {
  orderId: string;
  grossAmount: number;
  token: string;
  transactionId: string;
  status: MidtransStatus;
  createdAtMs: number;
  settledAtMs?: number;
}

/** Options of the simulated Midtrans (Snap + Core status/expire). */
export interface MidtransSimulatorOptions {
  serverKey: string;
  webhookUrl: string;
  clock: () => number;
  seed: number;
}

/** `signature_key` = SHA512(order_id + status_code + gross_amount + serverKey), as Midtrans signs notifications. */
export function midtransSignature(
  orderId: string,
  statusCode: string,
  grossAmount: string,
  serverKey: string,
): string {
  return createHash('sha512').update(`${orderId}${statusCode}${grossAmount}${serverKey}`).digest('hex');
}

function snapError(status: number, ...messages: string[]): SimResponse {
  return { status, body: { error_messages: messages } };
}

function coreError(status: number, message: string): SimResponse {
  return { status, body: { status_code: String(status), status_message: message } };
}

/** Midtrans time format "YYYY-MM-DD HH:mm:ss" in Jakarta time. */
function midtransTime(ms: number): string {
  return new Date(ms + 7 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
}

/** The Midtrans simulator: Snap transactions, status, expire, and `/_simulate/pay|expire`. */
export class MidtransSimulator {
  private readonly transactions = new Map<string, MidtransTransaction>();
  private readonly random: () => number;

  constructor(private readonly options: MidtransSimulatorOptions) {
    this.random = seededRandom(hashString(`${options.seed}:midtrans`));
  }

  definition(): DownstreamDefinition {
    return {
      errorResponse: (status, route, message) =>
        route === 'snap-create' ? snapError(status, message) : coreError(status, message),
      routes: [
        { name: 'snap-create', method: 'POST', path: '/snap/v1/transactions', handle: (r) => this.create(r) },
        { name: 'status', method: 'GET', path: '/v2/:orderId/status', handle: (r) => this.getStatus(r) },
        { name: 'expire', method: 'POST', path: '/v2/:orderId/expire', handle: (r) => this.expire(r) },
        {
          name: 'payment-page',
          method: 'GET',
          path: '/snap/v4/redirection/:token',
          simulatorOnly: true,
          handle: ({ params }) => ({
            status: 200,
            contentType: 'text/html; charset=utf-8',
            body: `<!doctype html><title>Midtrans Snap (simulated)</title><p>Payment page for token ${params.token}</p>`,
          }),
        },
        {
          name: 'simulate-pay',
          method: 'POST',
          path: '/_simulate/pay',
          simulatorOnly: true,
          handle: (r) => this.simulate(r, 'settlement'),
        },
        {
          name: 'simulate-expire',
          method: 'POST',
          path: '/_simulate/expire',
          simulatorOnly: true,
          handle: (r) => this.simulate(r, 'expire'),
        },
      ],
    };
  }

  private authorized(request: SimRequest): boolean {
    return hasBasicKey(request.headers.authorization, this.options.serverKey);
  }

  private create(request: SimRequest): SimResponse {
    if (!this.authorized(request)) {
      return snapError(
        401,
        'Access denied due to unauthorized transaction, please check client or server key',
        'Visit https://snap-docs.midtrans.com/#request-headers for more details',
      );
    }
    const { body, bodyError } = request;
    if (bodyError !== undefined || !isRecord(body)) return snapError(400, 'Request body is not valid JSON');
    const details = body.transaction_details;
    if (!isRecord(details)) return snapError(400, 'transaction_details is required');
    const orderId = details.order_id;
    const grossAmount = details.gross_amount;
    if (typeof orderId !== 'string' || orderId === '')
      return snapError(400, 'transaction_details.order_id is required');
    if (orderId.length > 50) return snapError(400, 'transaction_details.order_id too long');
    if (grossAmount === undefined) return snapError(400, 'transaction_details.gross_amount is required');
    if (typeof grossAmount !== 'number' || !Number.isInteger(grossAmount)) {
      return snapError(400, 'transaction_details.gross_amount is not an integer');
    }
    if (grossAmount < 1)
      return snapError(400, 'transaction_details.gross_amount must be greater than or equal to 1');
    if (this.transactions.has(orderId)) {
      return snapError(400, 'transaction_details.order_id has already been taken');
    }
    const transaction: MidtransTransaction = {
      orderId,
      grossAmount,
      token: this.uuid(),
      transactionId: this.uuid(),
      status: 'pending',
      createdAtMs: this.options.clock(),
    };
    this.transactions.set(orderId, transaction);
    return {
      status: 201,
      body: {
        token: transaction.token,
        redirect_url: `${request.baseUrl}/snap/v4/redirection/${transaction.token}`,
      },
    };
  }

  private getStatus(request: SimRequest): SimResponse {
    if (!this.authorized(request)) return coreError(401, 'Access denied, please check client or server key');
    const transaction = this.transactions.get(request.params.orderId);
    if (!transaction) return coreError(404, "Transaction doesn't exist.");
    return { status: 200, body: this.statusBody(transaction, 'Success, transaction is found') };
  }

  private expire(request: SimRequest): SimResponse {
    if (!this.authorized(request)) return coreError(401, 'Access denied, please check client or server key');
    const transaction = this.transactions.get(request.params.orderId);
    if (!transaction) return coreError(404, "Transaction doesn't exist.");
    if (transaction.status === 'settlement') {
      return coreError(412, 'Merchant cannot modify the status of the transaction');
    }
    transaction.status = 'expire';
    return { status: 200, body: this.statusBody(transaction, 'Success, transaction is expired') };
  }

  private async simulate(request: SimRequest, target: 'settlement' | 'expire'): Promise<SimResponse> {
    const reference = readReference(request.body);
    if (reference === undefined) return coreError(400, 'reference (the order_id) is required');
    const transaction = this.transactions.get(reference);
    if (!transaction) return coreError(404, "Transaction doesn't exist.");
    if (transaction.status !== 'pending' && transaction.status !== target) {
      return coreError(409, `transaction is already ${transaction.status}`);
    }
    transaction.status = target;
    if (target === 'settlement') transaction.settledAtMs ??= this.options.clock();
    const notification = this.notification(transaction);
    const delivery = await sendWebhook(this.options.webhookUrl, notification);
    return { status: 200, body: { ...delivery, notification } };
  }

  /** The HTTP notification Midtrans POSTs to the merchant. */
  private notification(transaction: MidtransTransaction): Record<string, unknown> {
    return {
      ...this.statusBody(transaction, 'midtrans payment notification'),
      settlement_time:
        transaction.settledAtMs === undefined ? undefined : midtransTime(transaction.settledAtMs),
      expiry_time: midtransTime(transaction.createdAtMs + 24 * 3_600_000),
    };
  }

  private statusBody(transaction: MidtransTransaction, message: string): Record<string, unknown> {
    const statusCode = STATUS_CODE[transaction.status];
    const grossAmount = `${transaction.grossAmount}.00`;
    return {
      status_code: statusCode,
      status_message: message,
      transaction_id: transaction.transactionId,
      order_id: transaction.orderId,
      merchant_id: 'G000000001',
      gross_amount: grossAmount,
      currency: 'IDR',
      payment_type: 'bank_transfer',
      transaction_time: midtransTime(transaction.createdAtMs),
      transaction_status: transaction.status,
      fraud_status: 'accept',
      signature_key: midtransSignature(transaction.orderId, statusCode, grossAmount, this.options.serverKey),
    };
  }

  private uuid(): string {
    const hex = randomChars(this.random, 32, HEX);
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
  }
}
