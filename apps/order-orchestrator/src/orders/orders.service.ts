import {
  BadGatewayException,
  Inject,
  Injectable,
  NotFoundException,
  UnprocessableEntityException,
} from '@nestjs/common';
import {
  ServiceUnavailableError,
  isBreakerRejection,
  isHttpClientError,
  settleWithin,
  type Breaker,
  type Clock,
} from '@app/resilience';
import { isEmail } from 'class-validator';
import { createHash, randomUUID } from 'node:crypto';
import type {
  DispatchRequest,
  PaymentLinkRequest,
  PaymentLinkView,
  SessionView,
  UserProfile,
} from '../clients/downstream.types';
import type { PaymentProcessorClient } from '../clients/payment-processor.client';
import type { SessionManagerClient } from '../clients/session-manager.client';
import type { TpgClient } from '../clients/tpg.client';
import { ORCHESTRATOR_CLOCK } from '../config/order-orchestrator.tokens';
import { isUniqueViolation, type OrdersRepository } from '../database/orders.repository';
import type { OrderDispatch, OrderPayment, OrderRow, OrderStatus } from '../database/orders.tables';
import { isPermanent, type OrderOutboxes } from '../outbox/order-outboxes';
import { isOutboxEntryUndeliverableError } from '../outbox/outbox-entry-undeliverable.error';
import { UnknownUserError, type UserDirectory } from '../users/user-directory';
import type { CreateOrderDto } from './dto/create-order.dto';
import type { DispatchEventDto } from './dto/dispatch-event.dto';
import type { LoadShedder } from './load-shedder';
import type { OrderMetrics } from './order.metrics';
import { toOrderView, type OrderView } from './order.view';
import { orderStatusOfDispatch, orderStatusOfEvent, STATUS_RANK } from './order-status';

/** Everything OrdersService works with; built by the orders module. */
export interface OrdersDependencies {
  orders: OrdersRepository;
  outboxes: OrderOutboxes;
  sessions: { client: SessionManagerClient; breaker: Breaker };
  users: UserDirectory;
  payments: PaymentProcessorClient;
  tpg: TpgClient;
  shedder: LoadShedder;
  metrics: OrderMetrics;
  /**
   * How long after the order row was written (`created_at`) the first request has to store its
   * answer (≥ its worst case); past that, a duplicate freezes the order as it is as the answer.
   */
  duplicateWaitMs: number;
  /** How long to look for the order row after a COMMIT that got no answer (≥ the query timeout). */
  commitCheckMs: number;
}

export const ORDERS_DEPENDENCIES = Symbol('ORDERS_DEPENDENCIES');

const DUPLICATE_POLL_MS = 25;
const COMMIT_CHECK_POLL_MS = 50;

export interface CreateOrderResult {
  order: OrderView;
  /** The answer of an earlier request with the same Idempotency-Key. */
  replayed: boolean;
}

/**
 * POST /orders in the contract's order: (validated) → session → user → order row and outbox
 * entries in one transaction → payment link (online) → dispatch. Each dependency fails in its
 * documented way: session → 422/503, user → stale copy/422/503, payment → payment null, TPG →
 * dispatch pending; the order is never lost once written.
 */
@Injectable()
export class OrdersService {
  constructor(
    @Inject(ORDERS_DEPENDENCIES) private readonly deps: OrdersDependencies,
    @Inject(ORCHESTRATOR_CLOCK) private readonly clock: Clock,
  ) {}

  async create(input: CreateOrderDto, idempotencyKey?: string): Promise<CreateOrderResult> {
    const { orders, shedder, outboxes } = this.deps;
    const hash = requestHash(input);
    if (idempotencyKey !== undefined) {
      const existing = await orders.getByIdempotencyKey(idempotencyKey);
      if (existing) return { order: await this.replay(existing, hash, idempotencyKey), replayed: true };
    }
    await shedder.assertCanTakeOrder(input.userId);
    const session = await this.fetchSession(input.sessionId, input.userId);
    const { user, stale } = await this.fetchUser(input.userId);

    const id = randomUUID();
    const now = new Date(this.clock());
    const degraded = stale ? ['user-service'] : [];
    const dispatchRequest = toDispatchRequest(id, session, user);
    const paymentRequest = input.paymentMethod === 'online' ? toPaymentRequest(id, session, user) : undefined;
    let entries: { dispatch: string; payment?: string };
    // Set once the work is done and only COMMIT is left.
    let written: { dispatch: string; payment?: string } | undefined;
    try {
      entries = await orders.transaction(async (trx) => {
        await orders.insert(
          {
            id,
            user_id: input.userId,
            session_id: input.sessionId,
            payment_method: input.paymentMethod,
            status: 'dispatch_pending',
            status_rank: STATUS_RANK.dispatch_pending,
            fare: JSON.stringify({
              amount: session.quote.fare.amount,
              currency: session.quote.fare.currency,
            }),
            pickup: JSON.stringify(session.pickup),
            dropoff: JSON.stringify(session.dropoff),
            user_info: JSON.stringify({ id: user.id, name: user.name, stale }),
            payment: JSON.stringify(null),
            dispatch: JSON.stringify({ status: 'pending' } satisfies OrderDispatch),
            degraded: JSON.stringify(degraded),
            vehicle: JSON.stringify(null),
            last_event_sequence: null,
            idempotency_key: idempotencyKey ?? null,
            request_hash: idempotencyKey === undefined ? null : hash,
            first_answer: JSON.stringify(null),
            created_at: now,
            updated_at: now,
          },
          trx,
        );
        const dispatch = await outboxes.enqueueDispatch(dispatchRequest, trx);
        const payment = paymentRequest ? await outboxes.enqueuePayment(paymentRequest, trx) : undefined;
        written = { dispatch, payment };
        return written;
      });
    } catch (err: unknown) {
      // A concurrent request with the same key won the unique index: answer as it does.
      if (idempotencyKey !== undefined && isUniqueViolation(err)) {
        const winner = await orders.getByIdempotencyKey(idempotencyKey);
        if (winner) return { order: await this.replay(winner, hash, idempotencyKey), replayed: true };
      }
      // COMMIT got no answer (read timeout, lost connection) yet the server may have committed:
      // a 503 for a taken order would make the client take it twice. 503 only when it is not there.
      if (written === undefined || !(await this.committed(id))) throw err;
      entries = written;
    }

    let payment: OrderPayment | undefined;
    if (paymentRequest && entries.payment !== undefined) {
      try {
        // The row learns the link before the entry completes: a request cut off after this point
        // (database gone) leaves nothing that only the lost answer knew.
        const link = await outboxes.deliverInline('payment', entries.payment, async () => {
          const made = await this.deps.payments.createLink(paymentRequest);
          await orders.setPayment(id, toOrderPayment(made), new Date(this.clock()));
          return made;
        });
        payment = toOrderPayment(link);
      } catch {
        degraded.push('payment-processor');
      }
    }

    let dispatch: { dispatch: OrderDispatch; status: OrderStatus } | undefined;
    try {
      const answer = await outboxes.deliverInline('dispatch', entries.dispatch, async () => {
        const taken = await this.deps.tpg.dispatch(dispatchRequest);
        // As the replayer does: recorded on the row before the entry completes (see payment above).
        await orders.applyDispatch(
          id,
          { status: taken.status, dispatchId: taken.id },
          orderStatusOfDispatch(taken.status),
          new Date(this.clock()),
        );
        return taken;
      });
      dispatch = {
        dispatch: { status: answer.status, dispatchId: answer.id },
        status: orderStatusOfDispatch(answer.status),
      };
    } catch {
      degraded.push('taxipartnergateway');
    }

    const row = await orders.finishCreate(
      id,
      { payment, dispatch, degraded },
      toOrderView,
      new Date(this.clock()),
    );
    const view = row.first_answer as OrderView;
    this.deps.metrics.taken(view.status, degraded);
    return { order: view, replayed: false };
  }

  async get(id: string): Promise<OrderView> {
    const row = await this.deps.orders.get(id);
    if (!row) throw new NotFoundException(`order ${id} not found`);
    return toOrderView(row);
  }

  /** The order's payment link, made now if the order has none yet (idempotent per order). */
  async paymentLink(id: string): Promise<OrderPayment> {
    const { orders, outboxes, payments, shedder } = this.deps;
    const row = await orders.get(id);
    if (!row) throw new NotFoundException(`order ${id} not found`);
    if (row.payment !== null) return row.payment as OrderPayment;
    if (row.payment_method !== 'online') {
      throw new UnprocessableEntityException({
        message: `order ${id} is paid in cash; it has no payment link`,
        orderId: id,
      });
    }
    shedder.assertCanMakePaymentLink();
    const entry = await outboxes.paymentEntry(id);
    if (entry?.status === 'failed' || entry?.status === 'cancelled') {
      throw paymentLinkRefused(id, entry.lastError ?? `the payment outbox entry is ${entry.status}`);
    }
    const request =
      entry?.payload ??
      toPaymentRequest(id, toSessionLike(row), {
        id: row.user_id,
        name: (row.user_info as { name: string }).name,
      });
    // As in create(): the row learns the link before the entry completes, so a crash in between
    // leaves the entry pending (delivered again, idempotently) rather than completed with no link.
    const make = async (): Promise<PaymentLinkView> => {
      const made = await payments.createLink(request);
      await orders.setPayment(id, toOrderPayment(made), new Date(this.clock()));
      return made;
    };
    let payment: OrderPayment;
    try {
      // Through the outbox entry: an attempt already in flight (replayer, another request) is awaited, not repeated.
      payment = toOrderPayment(
        entry ? await outboxes.deliverInline('payment', entry.id, make) : await make(),
      );
    } catch (err: unknown) {
      if (isOutboxEntryUndeliverableError(err)) {
        throw paymentLinkRefused(id, err.lastError ?? `the payment outbox entry is ${err.status}`);
      }
      if (isPermanent(err)) throw paymentLinkRefused(id, refusalOf(err));
      throw new ServiceUnavailableError(
        'payment-processor',
        'the payment processor is unavailable; the link will be made later',
        {
          retryAfterMs: retryAfterOf(err),
          cause: err,
        },
      );
    }
    const stored = (await orders.get(id))?.payment as OrderPayment | null | undefined;
    if (stored) return stored;
    // Delivered by a holder that stopped before recording it on the row: record it now.
    await orders.setPayment(id, payment, new Date(this.clock()));
    return payment;
  }

  /** Applies a dispatch event; idempotent and out-of-order safe. @throws NotFoundException */
  async applyDispatchEvent(event: DispatchEventDto): Promise<void> {
    const applied = await this.deps.orders.applyEvent(
      event.orderId,
      {
        status: orderStatusOfEvent(event.status),
        dispatchId: event.dispatchId,
        sequence: event.sequence,
        vehicle: event.vehicle,
      },
      new Date(this.clock()),
    );
    if (applied === undefined) throw new NotFoundException(`order ${event.orderId} not found`);
  }

  private async fetchSession(sessionId: string, userId: string): Promise<SessionView> {
    const { client, breaker } = this.deps.sessions;
    let session: SessionView | undefined;
    try {
      session = await client.get(sessionId);
    } catch (err: unknown) {
      throw new ServiceUnavailableError('session-manager', 'the session manager is unavailable', {
        retryAfterMs: breaker.retryAfterMs() || retryAfterOf(err),
        cause: err,
      });
    }
    // The session manager owns expiry (404 once expired); no second opinion from our clock.
    if (session === undefined) {
      throw new UnprocessableEntityException({
        message: `sessionId: session ${sessionId} is unknown or expired`,
        sessionId,
      });
    }
    if (session.userId !== userId) {
      throw new UnprocessableEntityException({
        message: `userId: session ${sessionId} belongs to another user`,
        sessionId,
        userId,
      });
    }
    return session;
  }

  private async fetchUser(userId: string): Promise<{ user: UserProfile; stale: boolean }> {
    try {
      return await this.deps.users.get(userId);
    } catch (err: unknown) {
      if (err instanceof UnknownUserError) {
        throw new UnprocessableEntityException({ message: `userId: user ${userId} does not exist`, userId });
      }
      throw err;
    }
  }

  /**
   * The first answer for this key: once the first request has stored it, or — when it has not
   * within duplicateWaitMs of writing the order (it died, or is stuck) — the order as it is then,
   * frozen as the answer for every later replay and for the first request itself.
   */
  private async replay(row: OrderRow, hash: string, key: string): Promise<OrderView> {
    if (row.request_hash !== hash) {
      throw new UnprocessableEntityException({
        message: 'Idempotency-Key: already used with a different request body',
        idempotencyKey: key,
      });
    }
    // Measured from the order's creation, so a replay long after a dead first request answers at
    // once; also never longer than duplicateWaitMs of real polling, whatever the clock says.
    const deadline = new Date(row.created_at).getTime() + this.deps.duplicateWaitMs;
    const pollUntil = Date.now() + this.deps.duplicateWaitMs;
    let current: OrderRow | undefined = row;
    while (current && current.first_answer === null && this.clock() < deadline && Date.now() < pollUntil) {
      await sleep(DUPLICATE_POLL_MS);
      current = await this.deps.orders.get(row.id);
    }
    if (!current) throw new NotFoundException(`order ${row.id} not found`);
    if (current.first_answer !== null) return current.first_answer as OrderView;
    return (await this.deps.orders.freezeAnswer(row.id, toOrderView(current))) as OrderView;
  }

  /** Whether the order row is there, looked for (bounded) after a COMMIT that got no answer. */
  private async committed(id: string): Promise<boolean> {
    // Real time on purpose: this waits on the database's real I/O (a commit still being flushed).
    const deadline = Date.now() + this.deps.commitCheckMs;
    for (;;) {
      // Each look is cut at the deadline: on a stalled pool one read alone can outlast it.
      const look = await settleWithin(this.deps.orders.get(id), deadline - Date.now());
      // Not answered or not reachable yet: the outcome is still unknown, look again until the deadline.
      if (look?.ok && look.value) return true;
      if (Date.now() >= deadline) return false;
      await sleep(COMMIT_CHECK_POLL_MS);
    }
  }
}

/** Stable hash of the fields that define the request. */
function requestHash(input: CreateOrderDto): string {
  const canonical = JSON.stringify([input.sessionId, input.userId, input.paymentMethod]);
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * What TPG is asked for. User data is shaped to what TPG and the payment processor accept (a
 * refusal of it would be permanent, leaving the order undelivered): the phone only when it is one,
 * the name trimmed to 200 characters, else a placeholder.
 */
export function toDispatchRequest(orderId: string, session: SessionView, user: UserProfile): DispatchRequest {
  const phone = user.phone !== undefined && /^\+?[0-9 ()-]{4,32}$/.test(user.phone) ? user.phone : undefined;
  return {
    orderId,
    pickup: { lat: session.pickup.lat, lng: session.pickup.lng },
    dropoff: { lat: session.dropoff.lat, lng: session.dropoff.lng },
    ...(phone === undefined ? {} : { passenger: { name: displayName(user.name, 'Passenger'), phone } }),
  };
}

/** An address for a user without a usable one: readable when the id allows, else derived from its hash. */
function standInEmail(userId: string): string {
  const readable = `${userId.replace(/[^A-Za-z0-9._-]/g, '.')}@customers.example.com`;
  if (userId.length <= 64 && isEmail(readable)) return readable;
  return `u-${createHash('sha256').update(userId).digest('hex').slice(0, 24)}@customers.example.com`;
}

/** Trimmed, at most 200 characters (TPG's and the payment processor's limit), never empty. */
function displayName(name: string | undefined, fallback: string): string {
  const trimmed = (name ?? '').trim().slice(0, 200).trim();
  return trimmed === '' ? fallback : trimmed;
}

export function toPaymentRequest(
  orderId: string,
  session: Pick<SessionView, 'quote'>,
  user: UserProfile,
): PaymentLinkRequest {
  return {
    orderId,
    amount: session.quote.fare.amount,
    currency: 'IDR',
    customer: {
      name: displayName(user.name, 'Customer'),
      email:
        user.email !== undefined && isEmail(user.email) && user.email.length <= 254
          ? user.email
          : standInEmail(user.id),
    },
    description: `Taxi ride ${orderId}`,
  };
}

function toOrderPayment(link: PaymentLinkView): OrderPayment {
  return { linkId: link.id, gateway: link.gateway, url: link.url };
}

function toSessionLike(row: OrderRow): Pick<SessionView, 'quote'> {
  return { quote: { fare: row.fare as { amount: number; currency: string } } };
}

/** 502: the payment processor refused this order's link for good; retrying cannot help. */
function paymentLinkRefused(orderId: string, reason: string): BadGatewayException {
  return new BadGatewayException({
    message: `the payment processor refused the payment link for order ${orderId}: ${reason}`,
    orderId,
    service: 'payment-processor',
    retry: false,
  });
}

/** The error, with the downstream's own words when its 4xx body gave any. */
function refusalOf(err: unknown): string {
  const said = isHttpClientError(err) ? (err.body as { message?: unknown } | null)?.message : undefined;
  const text = err instanceof Error ? err.message : String(err);
  if (said === undefined) return text;
  return `${text}: ${Array.isArray(said) ? said.join('; ') : String(said)}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function retryAfterOf(err: unknown): number | undefined {
  if (isBreakerRejection(err)) return (err as { retryAfterMs?: number }).retryAfterMs;
  return undefined;
}
