import type { GatewayName } from '../config/payment-processor.config';
import type { AttemptOutcome, LinkStatus } from '../database/payment.tables';

/** One gateway attempt as the API shows it. */
export interface AttemptView {
  gateway: GatewayName;
  outcome: 'success' | 'failure' | 'rejected' | 'skipped';
  error?: string;
  /** The gateway was asked what happened after a timeout or reset. */
  unknownOutcome?: boolean;
}

/** The 201 body of POST /payment-links (stored as the idempotent answer). */
export interface PaymentLinkCreated {
  id: string;
  orderId: string;
  amount: number;
  currency: 'IDR';
  gateway: GatewayName;
  url: string;
  status: 'pending';
  attempts: AttemptView[];
}

/** GET /payment-links/:id. */
export interface PaymentLinkView {
  id: string;
  orderId: string;
  amount: number;
  currency: string;
  gateway: GatewayName | null;
  url: string | null;
  status: LinkStatus;
  attempts: Array<{ gateway: GatewayName; outcome: AttemptOutcome; error?: string; gatewayStatus?: string }>;
  createdAt: string;
  updatedAt: string;
}
