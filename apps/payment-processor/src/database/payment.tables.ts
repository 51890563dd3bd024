import type { DeferredQueueTables } from '@app/resilience';
import type { ColumnType, Generated } from 'kysely';
import type { GatewayName } from '../config/payment-processor.config';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
/** Postgres bigint comes back as a string; we write numbers. */
type BigIntColumn = ColumnType<string, number | string, number | string>;

/** in_progress: a request holds the key (until lease_expires_at); completed: answer stored; failed: 503 stored, retryable. */
export type IdempotencyState = 'in_progress' | 'completed' | 'failed';

/**
 * creating: gateways being tried; pending: payable at `gateway`; paid | expired | failed: the
 * gateway said so; needs_refund: a superseded attempt was paid; unavailable: no gateway took it.
 */
export const LINK_STATUSES = [
  'creating',
  'pending',
  'paid',
  'expired',
  'failed',
  'needs_refund',
  'unavailable',
] as const;
export type LinkStatus = (typeof LINK_STATUSES)[number];

/** started: row written before the call; unknown: the call's outcome could not be learnt. */
export type AttemptOutcome = 'started' | 'success' | 'failure' | 'rejected' | 'skipped' | 'unknown';

/** What the gateway knows of the attempt: payable, paid, expired, failed, or superseded by another gateway. */
export type AttemptGatewayStatus = 'pending' | 'paid' | 'expired' | 'failed' | 'superseded';

export interface PaymentTables extends DeferredQueueTables {
  idempotency_keys: {
    key: string;
    request_hash: string;
    link_id: string;
    state: IdempotencyState;
    response_status: number | null;
    response_body: unknown;
    lease_expires_at: Timestamp;
    created_at: Timestamp;
    updated_at: Timestamp;
  };
  payment_links: {
    id: string;
    idempotency_key: string;
    order_id: string;
    amount: BigIntColumn;
    currency: string;
    customer_name: string;
    customer_email: string;
    description: string | null;
    status: LinkStatus;
    gateway: GatewayName | null;
    url: string | null;
    gateway_ref: string | null;
    created_at: Timestamp;
    updated_at: Timestamp;
  };
  payment_attempts: {
    id: Generated<string>;
    link_id: string;
    seq: number;
    gateway: GatewayName;
    outcome: AttemptOutcome;
    error: string | null;
    gateway_ref: string | null;
    url: string | null;
    gateway_status: AttemptGatewayStatus | null;
    started_at: Timestamp;
    finished_at: NullableTimestamp;
    updated_at: Timestamp;
  };
}
