import {
  isBreakerRejection,
  isHttpClientError,
  isHttpConnectionError,
  isHttpServerError,
  type Breaker,
  type FailureClass,
} from '@app/resilience';
import type { GatewayName } from '../config/payment-processor.config';

/** What every gateway is asked to create: the link's id is the reference at every gateway. */
export interface GatewayLinkRequest {
  reference: string;
  orderId: string;
  amount: number;
  customer: { name: string; email: string };
  description?: string;
}

/** A payable link at one gateway. */
export interface GatewayLink {
  /** The gateway's own id: Midtrans Snap token, Xendit invoice id, Nicepay tXid. */
  gatewayRef: string;
  url: string;
}

/**
 * What a gateway says about a reference after an unknown outcome:
 * payable — a link we can hand out; absent — nothing there (yet); unusable — something exists
 * that we cannot hand out (no URL, or its id is unknown) and must be expired; closed — it exists
 * but can no longer be paid.
 */
export type GatewayProbe =
  | { state: 'payable'; link: GatewayLink }
  | { state: 'absent' }
  | { state: 'unusable'; detail: string; gatewayRef?: string }
  | { state: 'closed'; detail: string };

/** Durable description of a gateway-side link to expire (the orphan-expiry outbox payload). */
export interface OrphanExpiry {
  gateway: GatewayName;
  reference: string;
  /** The gateway's id when known (Nicepay needs it to cancel). */
  gatewayRef: string | null;
  amount: number;
  orderId: string;
  customer: { name: string; email: string };
  description?: string;
  /** Why the link is an orphan. */
  reason: string;
  /** When the orphan was found (ms); absence is only trusted after the grace period. */
  foundAtMs: number;
}

/** expired: the gateway confirmed; absent: nothing exists; paid: too late, it was paid. */
export type ExpiryOutcome = 'expired' | 'absent' | 'paid';

/** The gateway answered that the reference is already taken: the link exists there. */
export class DuplicateReferenceError extends Error {
  readonly code = 'DUPLICATE_REFERENCE' as const;

  constructor(
    readonly gateway: GatewayName,
    readonly reference: string,
  ) {
    super(`${gateway}: reference ${reference} already exists`);
    this.name = 'DuplicateReferenceError';
  }
}

/** An orphan that cannot be expired by any API call (e.g. its gateway id is unknown). */
export class UnresolvableOrphanError extends Error {
  readonly code = 'UNRESOLVABLE_ORPHAN' as const;

  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableOrphanError';
  }
}

/** A gateway answered 2xx with a body we cannot read: it may have acted. */
export class GatewayProtocolError extends Error {
  readonly code = 'GATEWAY_PROTOCOL_ERROR' as const;

  constructor(gateway: GatewayName, detail: string) {
    super(`${gateway}: unexpected answer: ${detail}`);
    this.name = 'GatewayProtocolError';
  }
}

/** One payment gateway speaking its real API; the create call is guarded by failover(). */
export interface PaymentGatewayClient {
  readonly gateway: GatewayName;
  readonly breaker: Breaker;
  /** Creates the link; runs inside `breaker.execute` (failover's), so it does not use the breaker. */
  create(request: GatewayLinkRequest, signal: AbortSignal): Promise<GatewayLink>;
  /** Asks the gateway what exists under `request.reference` (through the breaker). */
  probe(request: GatewayLinkRequest): Promise<GatewayProbe>;
  /**
   * Expires / cancels whatever is payable under the reference (inside the replayer's breaker call).
   * `remember` makes a gateway id learnt on the way durable before it is relied on.
   */
  expire(
    orphan: OrphanExpiry,
    signal: AbortSignal,
    remember: (gatewayRef: string) => Promise<void>,
  ): Promise<ExpiryOutcome>;
}

/**
 * Failure classes of a create call (README "Failover rules"): safe — the gateway cannot have
 * created anything; unknown — it may have.
 */
export function classifyCreateFailure(err: unknown): FailureClass {
  if (isBreakerRejection(err)) return 'safe';
  if (err instanceof DuplicateReferenceError) return 'unknown';
  if (isHttpConnectionError(err)) return err.requestSent ? 'unknown' : 'safe';
  // 429 and 408 refuse before processing; other 4xx are definitive validation/auth refusals.
  if (isHttpClientError(err)) return 'safe';
  // 503 is "not taking requests"; 500/502/504 may come after the gateway acted.
  if (isHttpServerError(err)) return err.status === 503 ? 'safe' : 'unknown';
  if ((err as { code?: unknown } | null)?.code === 'GATEWAY_REFUSED') return 'safe';
  return 'unknown';
}

/** A gateway refused in its own body format (e.g. Nicepay's resultCd): nothing was created. */
export class GatewayRefusedError extends Error {
  readonly code = 'GATEWAY_REFUSED' as const;

  constructor(
    gateway: GatewayName,
    readonly resultCode: string,
    detail: string,
  ) {
    super(`${gateway} refused (${resultCode}): ${detail}`);
    this.name = 'GatewayRefusedError';
  }
}

/** Basic auth header with the key as user and an empty password, as Midtrans and Xendit expect. */
export function basicAuth(key: string): string {
  return `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
