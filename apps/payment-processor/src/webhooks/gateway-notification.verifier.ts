import { createHash, timingSafeEqual } from 'node:crypto';
import type { GatewayName } from '../config/payment-processor.config';

/** Link status a notification asks for. */
export type NotifiedStatus = 'pending' | 'paid' | 'expired' | 'failed';

/** A notification whose signature or token checked out. */
export interface VerifiedNotification {
  gateway: GatewayName;
  /** Our link id (Midtrans order_id, Xendit external_id, Nicepay referenceNo). */
  reference: string;
  status: NotifiedStatus;
  /** The gateway's raw status, for logs. */
  gatewayStatus: string;
}

export interface WebhookSecrets {
  midtransServerKey: string;
  xenditCallbackToken: string;
  nicepayMerchantKey: string;
  nicepayImid: string;
}

type Headers = Record<string, string | string[] | undefined>;

/**
 * Constant-time comparison of two strings: timingSafeEqual on equal-length buffers; a length
 * mismatch still runs one comparison so timing does not tell how close a guess was.
 */
export function constantTimeEquals(actual: string, expected: string): boolean {
  const a = Buffer.from(actual, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  if (a.length !== b.length) {
    timingSafeEqual(b, b);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Checks the gateway's own signature or token; undefined when it does not check out. */
export function verifyNotification(
  gateway: GatewayName,
  headers: Headers,
  body: unknown,
  secrets: WebhookSecrets,
): VerifiedNotification | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const fields = body as Record<string, unknown>;
  switch (gateway) {
    case 'midtrans':
      return verifyMidtrans(fields, secrets);
    case 'xendit':
      return verifyXendit(headers, fields, secrets);
    case 'nicepay':
      return verifyNicepay(fields, secrets);
    default: {
      const unreachable: never = gateway;
      throw new Error(`unknown gateway ${String(unreachable)}`);
    }
  }
}

/** signature_key = SHA512(order_id + status_code + gross_amount + serverKey). */
function verifyMidtrans(
  fields: Record<string, unknown>,
  secrets: WebhookSecrets,
): VerifiedNotification | undefined {
  const orderId = text(fields.order_id);
  const statusCode = text(fields.status_code);
  const grossAmount = text(fields.gross_amount);
  const signature = text(fields.signature_key);
  if (!orderId || !statusCode || !grossAmount || !signature) return undefined;
  const expected = createHash('sha512')
    .update(`${orderId}${statusCode}${grossAmount}${secrets.midtransServerKey}`)
    .digest('hex');
  if (!constantTimeEquals(signature.toLowerCase(), expected)) return undefined;
  const raw = text(fields.transaction_status) ?? '';
  const fraud = text(fields.fraud_status);
  const status: NotifiedStatus | undefined =
    raw === 'settlement' || (raw === 'capture' && (fraud === undefined || fraud === 'accept'))
      ? 'paid'
      : raw === 'pending' || raw === 'capture'
        ? 'pending'
        : raw === 'expire'
          ? 'expired'
          : raw === 'cancel' || raw === 'deny' || raw === 'failure'
            ? 'failed'
            : undefined;
  return status && { gateway: 'midtrans', reference: orderId, status, gatewayStatus: raw };
}

/** Header x-callback-token equals the account's callback verification token. */
function verifyXendit(
  headers: Headers,
  fields: Record<string, unknown>,
  secrets: WebhookSecrets,
): VerifiedNotification | undefined {
  const header = headers['x-callback-token'];
  const token = Array.isArray(header) ? header[0] : header;
  if (!token || !constantTimeEquals(token, secrets.xenditCallbackToken)) return undefined;
  const reference = text(fields.external_id);
  const raw = text(fields.status) ?? '';
  if (!reference) return undefined;
  const status: NotifiedStatus | undefined =
    raw === 'PAID' || raw === 'SETTLED'
      ? 'paid'
      : raw === 'EXPIRED'
        ? 'expired'
        : raw === 'PENDING'
          ? 'pending'
          : undefined;
  return status && { gateway: 'xendit', reference, status, gatewayStatus: raw };
}

/** merchantToken = SHA256(iMid + tXid + amt + merchantKey) on Nicepay's payment notification. */
function verifyNicepay(
  fields: Record<string, unknown>,
  secrets: WebhookSecrets,
): VerifiedNotification | undefined {
  const tXid = text(fields.tXid);
  const amt = text(fields.amt);
  const reference = text(fields.referenceNo);
  const token = text(fields.merchantToken);
  if (!tXid || !amt || !reference || !token) return undefined;
  const expected = createHash('sha256')
    .update(`${secrets.nicepayImid}${tXid}${amt}${secrets.nicepayMerchantKey}`)
    .digest('hex');
  if (!constantTimeEquals(token.toLowerCase(), expected)) return undefined;
  const raw = text(fields.status) ?? '';
  const status: NotifiedStatus | undefined =
    raw === '0'
      ? 'paid'
      : raw === '4'
        ? 'expired'
        : raw === '2' || raw === '1'
          ? 'failed'
          : raw === '9' || raw === '3'
            ? 'pending'
            : undefined;
  return status && { gateway: 'nicepay', reference, status, gatewayStatus: raw };
}

function text(value: unknown): string | undefined {
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
