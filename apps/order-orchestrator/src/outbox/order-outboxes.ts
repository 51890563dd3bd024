import type { LoggerService } from '@nestjs/common';
import {
  DeferredQueue,
  QueueReplayer,
  isHttpClientError,
  type Breaker,
  type Clock,
  type Database,
  type DeferredQueueEntry,
  type KyselyLike,
} from '@app/resilience';
import type { Registry } from 'prom-client';
import type { DispatchRequest, PaymentLinkRequest } from '../clients/downstream.types';
import type { PaymentProcessorClient } from '../clients/payment-processor.client';
import type { TpgClient } from '../clients/tpg.client';
import type { OrdersRepository } from '../database/orders.repository';
import type { OrchestratorTables } from '../database/orders.tables';
import { orderStatusOfDispatch } from '../orders/order-status';
import { OutboxEntryUndeliverableError } from './outbox-entry-undeliverable.error';

export interface OrderOutboxesOptions {
  database: Database<OrchestratorTables>;
  orders: OrdersRepository;
  tpg: { client: TpgClient; breaker: Breaker };
  payments: { client: PaymentProcessorClient; breaker: Breaker };
  registry: Registry;
  clock: Clock;
  pollIntervalMs: number;
  /** How long an inline attempt waits for another holder of its entry (≥ the breakers' call deadline). */
  holderWaitMs: number;
  logger: LoggerService;
}

/** 408 and 429 say "later"; 409 is the payment processor's "this key is still being worked on". */
const RETRYABLE_CLIENT_ERRORS = new Set([408, 409, 429]);

/** Any other 4xx will never succeed on retry. */
export function isPermanent(err: unknown): boolean {
  return isHttpClientError(err) && !RETRYABLE_CLIENT_ERRORS.has(err.status);
}

/**
 * The orchestrator's two durable outboxes, written in the order's own transaction:
 * `dispatch-outbox` (ordered: orders reach TPG in the order they were taken) and
 * `payment-outbox`. The request path first tries each call inline while holding the entry
 * (claim); on failure it gives the entry back and the replayer delivers it once the breaker lets
 * it, with no client action.
 */
export class OrderOutboxes {
  readonly dispatchQueue: DeferredQueue<DispatchRequest>;
  readonly paymentQueue: DeferredQueue<PaymentLinkRequest>;
  private readonly dispatchReplayer: QueueReplayer<DispatchRequest>;
  private readonly paymentReplayer: QueueReplayer<PaymentLinkRequest>;
  private sweepTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OrderOutboxesOptions) {
    const { database, registry, clock, logger, pollIntervalMs } = options;
    this.dispatchQueue = new DeferredQueue<DispatchRequest>({
      name: 'dispatch-outbox',
      db: database,
      clock,
      registry,
      logger,
    });
    this.paymentQueue = new DeferredQueue<PaymentLinkRequest>({
      name: 'payment-outbox',
      db: database,
      clock,
      registry,
      logger,
    });
    this.dispatchReplayer = new QueueReplayer<DispatchRequest>({
      queue: this.dispatchQueue,
      breaker: options.tpg.breaker,
      ordered: true,
      pollIntervalMs,
      clock,
      logger,
      isPermanentFailure: isPermanent,
      handler: (entry, signal) => this.replayDispatch(entry, signal),
    });
    this.paymentReplayer = new QueueReplayer<PaymentLinkRequest>({
      queue: this.paymentQueue,
      breaker: options.payments.breaker,
      pollIntervalMs,
      clock,
      logger,
      isPermanentFailure: isPermanent,
      handler: (entry, signal) => this.replayPayment(entry, signal),
    });
  }

  start(): void {
    this.dispatchReplayer.start();
    this.paymentReplayer.start();
    this.sweepTimer = setInterval(
      () => void this.releaseAbandonedHolds(),
      Math.max(this.options.pollIntervalMs, 5000),
    );
    this.sweepTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.sweepTimer);
    await Promise.all([this.dispatchReplayer.stop(), this.paymentReplayer.stop()]);
  }

  enqueueDispatch(request: DispatchRequest, trx: KyselyLike): Promise<string> {
    return this.dispatchQueue
      .enqueue({ key: request.orderId, payload: request, reason: 'order taken' }, trx)
      .then(({ entry }) => entry.id);
  }

  enqueuePayment(request: PaymentLinkRequest, trx: KyselyLike): Promise<string> {
    return this.paymentQueue
      .enqueue({ key: request.orderId, payload: request, reason: 'order taken' }, trx)
      .then(({ entry }) => entry.id);
  }

  /**
   * Runs `deliver` while holding the entry (claim) so the replayer does not send it at the same
   * time. Success → the entry is completed; failure → it goes back to pending for the replayer
   * (and the error is re-thrown). When someone else holds it (the replayer got there first, or a
   * concurrent request), their outcome is awaited and used instead of sending a second call.
   */
  async deliverInline<T>(
    kind: 'dispatch' | 'payment',
    entryId: string,
    deliver: () => Promise<T>,
  ): Promise<T> {
    const queue: DeferredQueue<unknown> = kind === 'dispatch' ? this.dispatchQueue : this.paymentQueue;
    const actor = `inline:${entryId}`;
    try {
      await queue.claim(entryId, actor);
    } catch {
      return this.outcomeOf<T>(queue, entryId);
    }
    try {
      const result = await deliver();
      await queue.complete(entryId, actor, result).catch((err: unknown) => this.warn(err));
      return result;
    } catch (err: unknown) {
      await queue
        .release(entryId, actor, { detail: { error: describe(err) } })
        .catch((e: unknown) => this.warn(e));
      (kind === 'dispatch' ? this.dispatchReplayer : this.paymentReplayer).kick();
      throw err;
    }
  }

  /** Entry of the order in the payment outbox (to settle it when a link is made on demand). */
  paymentEntry(orderId: string): Promise<DeferredQueueEntry<PaymentLinkRequest> | undefined> {
    return this.paymentQueue.getByKey(orderId);
  }

  /** One replay pass of each outbox now (tests, and right after a breaker closes). */
  async drain(): Promise<void> {
    await Promise.all([this.dispatchReplayer.drainOnce(), this.paymentReplayer.drainOnce()]);
  }

  /** Waits (bounded) for whoever holds the entry; its result, or an error once it is not delivered. */
  private async outcomeOf<T>(queue: DeferredQueue<unknown>, entryId: string): Promise<T> {
    // Real time on purpose: this waits on real I/O of another holder, not on business time.
    const deadline = Date.now() + this.options.holderWaitMs;
    for (;;) {
      const entry = await queue.get(entryId);
      if (entry.status === 'replayed' || entry.status === 'completed') return entry.result as T;
      if (entry.status === 'failed' || entry.status === 'cancelled') {
        throw new OutboxEntryUndeliverableError(entryId, entry.status, entry.lastError);
      }
      if (entry.status !== 'replaying' && entry.status !== 'claimed') {
        throw new Error(
          `outbox entry ${entryId} is ${entry.status}: ${entry.lastError ?? 'not delivered yet'}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`outbox entry ${entryId} is still being delivered`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private async replayDispatch(
    entry: DeferredQueueEntry<DispatchRequest>,
    signal: AbortSignal,
  ): Promise<unknown> {
    const answer = await this.options.tpg.client.dispatchUnguarded(entry.payload, signal);
    await this.options.orders.applyDispatch(
      entry.payload.orderId,
      { status: answer.status, dispatchId: answer.id },
      orderStatusOfDispatch(answer.status),
      new Date(this.options.clock()),
    );
    return answer;
  }

  private async replayPayment(
    entry: DeferredQueueEntry<PaymentLinkRequest>,
    signal: AbortSignal,
  ): Promise<unknown> {
    const link = await this.options.payments.client.createLinkUnguarded(entry.payload, signal);
    await this.options.orders.setPayment(
      entry.payload.orderId,
      { linkId: link.id, gateway: link.gateway, url: link.url },
      new Date(this.options.clock()),
    );
    return link;
  }

  /** Inline holds left by a process that died mid-request go back to the replayer. */
  private async releaseAbandonedHolds(): Promise<void> {
    // An inline call ends within holderWaitMs (its breaker's deadline + 1 s); a hold twice that old
    // belongs to a process that died mid-request. Both receivers are idempotent, so a resend is safe.
    const cutoff = this.options.clock() - Math.max(2 * this.options.holderWaitMs, 5000);
    for (const queue of [this.dispatchQueue, this.paymentQueue] as DeferredQueue<unknown>[]) {
      try {
        const claimed = await queue.list({ status: 'claimed', limit: 100 });
        for (const entry of claimed) {
          if (entry.claimedBy?.startsWith('inline:') && (entry.claimedAt?.getTime() ?? 0) < cutoff) {
            await queue
              .release(entry.id, 'inline-sweep', { force: true })
              .catch((err: unknown) => this.warn(err));
          }
        }
      } catch (err: unknown) {
        this.warn(err);
      }
    }
  }

  private warn(err: unknown): void {
    this.options.logger.warn(`outbox: ${describe(err)}`);
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
