import { Inject, Injectable } from '@nestjs/common';
import { sql } from 'kysely';
import type { GatewayName } from '../config/payment-processor.config';
import {
  PAYMENT_DATABASE,
  type PaymentDatabase,
  type PaymentTransaction,
} from '../database/payment-database';
import type {
  AttemptGatewayStatus,
  AttemptOutcome,
  LinkStatus,
  PaymentTables,
} from '../database/payment.tables';
import type { OrphanExpiry } from '../clients/payment-gateway.client';
import { OrphanExpiryOutbox } from '../orphans/orphan-expiry.outbox';
import type { AttemptView, PaymentLinkView } from './payment-link.types';

export type LinkRow = PaymentTables['payment_links'];

export interface NewLink {
  id: string;
  orderId: string;
  amount: number;
  customer: { name: string; email: string };
  description?: string;
}

/** What claiming an Idempotency-Key found. */
export type KeyClaim =
  | { kind: 'claimed'; link: NewLink }
  | { kind: 'stored'; status: number; body: unknown }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

/**
 * The request no longer holds its Idempotency-Key: its lease ran out and another request took the
 * key over, abandoning this request's link. Nothing more may be written or created for the link;
 * whatever it started at a gateway is already queued for expiry by the request that took over.
 */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(
    readonly key: string,
    readonly linkId: string,
  ) {
    super(`Idempotency-Key ${key} was taken over; link ${linkId} is abandoned`);
  }
}

export function isLeaseLostError(err: unknown): err is LeaseLostError {
  return err instanceof LeaseLostError;
}

export interface AttemptUpdate {
  outcome: AttemptOutcome;
  error?: string | null;
  gatewayRef?: string | null;
  url?: string | null;
  gatewayStatus?: AttemptGatewayStatus | null;
}

/** The rows of the payments schema: keys, links, attempts; orphans go to the outbox in the same transaction. */
@Injectable()
export class PaymentLinksRepository {
  constructor(
    @Inject(PAYMENT_DATABASE) private readonly database: PaymentDatabase,
    private readonly outbox: OrphanExpiryOutbox,
  ) {}

  private get db() {
    return this.database.db;
  }

  /**
   * Takes the key for a new link (inserted first, so concurrent requests meet on its primary key).
   * A failed (503) key or an in-progress key whose lease ran out is taken over with a fresh link:
   * the abandoned link's possibly-live attempts are queued for expiry in the same transaction.
   */
  claimKey(
    key: string,
    requestHash: string,
    link: NewLink,
    nowMs: number,
    leaseMs: number,
  ): Promise<KeyClaim> {
    return this.db.transaction().execute(async (trx) => {
      const now = new Date(nowMs);
      const inserted = await trx
        .insertInto('idempotency_keys')
        .values({
          key,
          request_hash: requestHash,
          link_id: link.id,
          state: 'in_progress',
          response_status: null,
          response_body: null,
          lease_expires_at: new Date(nowMs + leaseMs),
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('key').doNothing())
        .returning('key')
        .executeTakeFirst();
      if (inserted) {
        await this.insertLink(trx, key, link, now);
        return { kind: 'claimed', link };
      }
      const existing = await trx
        .selectFrom('idempotency_keys')
        .selectAll()
        .where('key', '=', key)
        .forUpdate()
        .executeTakeFirstOrThrow();
      if (existing.request_hash !== requestHash) return { kind: 'mismatch' };
      if (existing.state === 'completed') {
        return { kind: 'stored', status: existing.response_status ?? 201, body: existing.response_body };
      }
      if (existing.state === 'in_progress' && existing.lease_expires_at.getTime() > nowMs)
        return { kind: 'in_progress' };
      if (existing.state === 'in_progress') await this.abandon(trx, existing.link_id, nowMs);
      await trx
        .updateTable('idempotency_keys')
        .set({
          link_id: link.id,
          state: 'in_progress',
          response_status: null,
          response_body: null,
          lease_expires_at: new Date(nowMs + leaseMs),
          updated_at: now,
        })
        .where('key', '=', key)
        .execute();
      await this.insertLink(trx, key, link, now);
      return { kind: 'claimed', link };
    });
  }

  /**
   * Written before the gateway is called, and only while the request still holds its key: the
   * lease is renewed by the same statement (the key row is the fence a takeover also locks), so
   * a takeover either sees the renewed lease and waits, or has abandoned the link and nothing new
   * is started for it. Throws LeaseLostError when the key was taken over.
   */
  async startAttempt(
    lease: { key: string; linkId: string; leaseMs: number },
    seq: number,
    gateway: GatewayName,
    nowMs: number,
  ): Promise<void> {
    const now = new Date(nowMs);
    // One statement: the attempt row is inserted from the renewed key row, so no row, no attempt.
    const started = await this.db
      .with('renewed', (db) =>
        db
          .updateTable('idempotency_keys')
          .set({ lease_expires_at: new Date(nowMs + lease.leaseMs), updated_at: now })
          .where('key', '=', lease.key)
          .where('link_id', '=', lease.linkId)
          .where('state', '=', 'in_progress')
          .returning('link_id'),
      )
      .insertInto('payment_attempts')
      .columns(['link_id', 'seq', 'gateway', 'outcome', 'started_at', 'updated_at'])
      .expression((eb) =>
        eb
          .selectFrom('renewed')
          .select([
            'renewed.link_id',
            sql<number>`${seq}::integer`.as('seq'),
            sql<GatewayName>`${gateway}::text`.as('gateway'),
            sql<AttemptOutcome>`'started'`.as('outcome'),
            sql<Date>`${now}::timestamptz`.as('started_at'),
            sql<Date>`${now}::timestamptz`.as('updated_at'),
          ]),
      )
      .executeTakeFirst();
    if (started.numInsertedOrUpdatedRows === 0n) throw new LeaseLostError(lease.key, lease.linkId);
  }

  /** Written after the gateway answered (or did not). */
  async finishAttempt(
    linkId: string,
    gateway: GatewayName,
    update: AttemptUpdate,
    nowMs: number,
  ): Promise<void> {
    await this.db
      .updateTable('payment_attempts')
      .set({
        outcome: update.outcome,
        ...(update.error !== undefined ? { error: update.error } : {}),
        ...(update.gatewayRef !== undefined ? { gateway_ref: update.gatewayRef } : {}),
        ...(update.url !== undefined ? { url: update.url } : {}),
        ...(update.gatewayStatus !== undefined ? { gateway_status: update.gatewayStatus } : {}),
        finished_at: new Date(nowMs),
        updated_at: new Date(nowMs),
      })
      .where('link_id', '=', linkId)
      .where('gateway', '=', gateway)
      .execute();
  }

  /** The outcome stored on an attempt (`started` while its request has not recorded one), if any. */
  async attemptOutcome(linkId: string, gateway: GatewayName): Promise<AttemptOutcome | undefined> {
    return (await this.attempt(linkId, gateway))?.outcome;
  }

  /** The gateway id stored on an attempt, or null. */
  async attemptGatewayRef(linkId: string, gateway: GatewayName): Promise<string | null> {
    return (await this.attempt(linkId, gateway))?.gateway_ref ?? null;
  }

  private attempt(linkId: string, gateway: GatewayName) {
    return this.db
      .selectFrom('payment_attempts')
      .select(['outcome', 'gateway_ref'])
      .where('link_id', '=', linkId)
      .where('gateway', '=', gateway)
      .executeTakeFirst();
  }

  async setAttemptGatewayRef(
    linkId: string,
    gateway: GatewayName,
    gatewayRef: string,
    nowMs: number,
  ): Promise<void> {
    await this.db
      .updateTable('payment_attempts')
      .set({ gateway_ref: gatewayRef, updated_at: new Date(nowMs) })
      .where('link_id', '=', linkId)
      .where('gateway', '=', gateway)
      .execute();
  }

  /** Marks the attempt superseded and queues its expiry, atomically. */
  async recordOrphan(orphan: OrphanExpiry, error: string, nowMs: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('payment_attempts')
        .set({
          outcome: 'failure',
          error,
          gateway_status: 'superseded',
          finished_at: new Date(nowMs),
          updated_at: new Date(nowMs),
        })
        .where('link_id', '=', orphan.reference)
        .where('gateway', '=', orphan.gateway)
        .execute();
      await this.outbox.enqueue(orphan, trx);
    });
  }

  /** The link is payable at `gateway`; the key stores the answer. */
  async complete(
    key: string,
    linkId: string,
    winner: { gateway: GatewayName; gatewayRef: string; url: string },
    attempts: AttemptView[],
    body: unknown,
    nowMs: number,
  ): Promise<void> {
    const now = new Date(nowMs);
    await this.db.transaction().execute(async (trx) => {
      // The key row first (the lock order of a takeover): no answer for a link taken over.
      await storeAnswer(trx, key, linkId, { state: 'completed', status: 201, body }, now);
      await this.recordUnstarted(trx, linkId, attempts, now);
      await trx
        .updateTable('payment_attempts')
        .set({
          outcome: 'success',
          gateway_ref: winner.gatewayRef,
          url: winner.url,
          gateway_status: 'pending',
          updated_at: now,
        })
        .where('link_id', '=', linkId)
        .where('gateway', '=', winner.gateway)
        .execute();
      await trx
        .updateTable('payment_links')
        .set({
          status: 'pending',
          gateway: winner.gateway,
          gateway_ref: winner.gatewayRef,
          url: winner.url,
          updated_at: now,
        })
        .where('id', '=', linkId)
        .where('status', '=', 'creating')
        .execute();
    });
  }

  /** No gateway took the link; the key may be retried with a fresh link. */
  async fail(
    key: string,
    linkId: string,
    attempts: AttemptView[],
    body: unknown,
    nowMs: number,
  ): Promise<void> {
    const now = new Date(nowMs);
    await this.db.transaction().execute(async (trx) => {
      await storeAnswer(trx, key, linkId, { state: 'failed', status: 503, body }, now);
      await this.recordUnstarted(trx, linkId, attempts, now);
      await trx
        .updateTable('payment_links')
        .set({ status: 'unavailable', updated_at: now })
        .where('id', '=', linkId)
        .where('status', '=', 'creating')
        .execute();
    });
  }

  async findLink(id: string): Promise<PaymentLinkView | undefined> {
    const link = await this.db
      .selectFrom('payment_links')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (!link) return undefined;
    const attempts = await this.db
      .selectFrom('payment_attempts')
      .selectAll()
      .where('link_id', '=', id)
      .orderBy('seq')
      .execute();
    return {
      id: link.id,
      orderId: link.order_id,
      amount: Number(link.amount),
      currency: link.currency,
      gateway: link.gateway,
      url: link.url,
      status: link.status,
      attempts: attempts.map((a) => ({
        gateway: a.gateway,
        outcome: a.outcome,
        ...(a.error ? { error: a.error } : {}),
        ...(a.gateway_status ? { gatewayStatus: a.gateway_status } : {}),
      })),
      createdAt: link.created_at.toISOString(),
      updatedAt: link.updated_at.toISOString(),
    };
  }

  /** Links per status, for the payment_links gauge. */
  async countByStatus(): Promise<Record<string, number>> {
    const rows = await this.db
      .selectFrom('payment_links')
      .select(['status', sql<string>`count(*)`.as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
  }

  /**
   * Applies a verified gateway notification. Returns what happened, for logging; never reveals
   * whether the reference exists to the caller.
   */
  applyNotification(
    gateway: GatewayName,
    reference: string,
    status: 'pending' | 'paid' | 'expired' | 'failed',
    nowMs: number,
  ): Promise<'unknown-reference' | 'unchanged' | 'updated' | 'needs-refund'> {
    return this.db.transaction().execute(async (trx) => {
      // The attempt row, then the link row: the lock order of complete, abandon and flagNeedsRefund.
      const attempt = await trx
        .selectFrom('payment_attempts')
        .selectAll()
        .where('link_id', '=', reference)
        .where('gateway', '=', gateway)
        .forUpdate()
        .executeTakeFirst();
      if (!attempt) return 'unknown-reference';
      const link = await trx
        .selectFrom('payment_links')
        .selectAll()
        .where('id', '=', reference)
        .forUpdate()
        .executeTakeFirst();
      if (!link) return 'unknown-reference';
      const now = new Date(nowMs);
      const winning = link.gateway === gateway && attempt.outcome === 'success';
      if (status === 'pending') return 'unchanged';
      const attemptStatus: AttemptGatewayStatus = status;
      if (attempt.gateway_status !== 'paid' && attempt.gateway_status !== attemptStatus) {
        await trx
          .updateTable('payment_attempts')
          .set({ gateway_status: attemptStatus, updated_at: now })
          .where('id', '=', attempt.id)
          .execute();
      }
      if (!winning) {
        if (status !== 'paid' || link.status === 'needs_refund') return 'unchanged';
        await this.setLinkStatus(trx, reference, 'needs_refund', now);
        return 'needs-refund';
      }
      if (link.status !== 'pending') return 'unchanged';
      await this.setLinkStatus(trx, reference, status, now);
      return 'updated';
    });
  }

  /** An orphan turned out paid at its gateway: the customer must be refunded. */
  async flagNeedsRefund(linkId: string, gateway: GatewayName, nowMs: number): Promise<void> {
    const now = new Date(nowMs);
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('payment_attempts')
        .set({ gateway_status: 'paid', updated_at: now })
        .where('link_id', '=', linkId)
        .where('gateway', '=', gateway)
        .execute();
      await this.setLinkStatus(trx, linkId, 'needs_refund', now);
    });
  }

  /** The orphan's expiry is confirmed (or nothing existed). */
  async markOrphanClosed(linkId: string, gateway: GatewayName, nowMs: number): Promise<void> {
    await this.db
      .updateTable('payment_attempts')
      .set({ gateway_status: 'expired', updated_at: new Date(nowMs) })
      .where('link_id', '=', linkId)
      .where('gateway', '=', gateway)
      .where('gateway_status', '=', 'superseded')
      .execute();
  }

  private async setLinkStatus(
    trx: PaymentTransaction,
    id: string,
    status: LinkStatus,
    now: Date,
  ): Promise<void> {
    await trx.updateTable('payment_links').set({ status, updated_at: now }).where('id', '=', id).execute();
  }

  private async insertLink(trx: PaymentTransaction, key: string, link: NewLink, now: Date): Promise<void> {
    await trx
      .insertInto('payment_links')
      .values({
        id: link.id,
        idempotency_key: key,
        order_id: link.orderId,
        amount: link.amount,
        currency: 'IDR',
        customer_name: link.customer.name,
        customer_email: link.customer.email,
        description: link.description ?? null,
        status: 'creating',
        gateway: null,
        url: null,
        gateway_ref: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
  }

  /** Attempts failover skipped or the breaker rejected never got a row of their own. */
  private async recordUnstarted(
    trx: PaymentTransaction,
    linkId: string,
    attempts: AttemptView[],
    now: Date,
  ): Promise<void> {
    for (const [index, attempt] of attempts.entries()) {
      if (attempt.outcome !== 'skipped' && attempt.outcome !== 'rejected') continue;
      await trx
        .insertInto('payment_attempts')
        .values({
          link_id: linkId,
          seq: index,
          gateway: attempt.gateway,
          outcome: attempt.outcome,
          error: attempt.error ?? null,
          gateway_ref: null,
          url: null,
          gateway_status: null,
          started_at: now,
          finished_at: now,
          updated_at: now,
        })
        .onConflict((oc) =>
          oc.columns(['link_id', 'gateway']).doUpdateSet({
            outcome: attempt.outcome,
            error: attempt.error ?? null,
            finished_at: now,
            updated_at: now,
          }),
        )
        .execute();
    }
  }

  /** A crashed request's link: whatever may be live at a gateway is queued for expiry. */
  private async abandon(trx: PaymentTransaction, linkId: string, nowMs: number): Promise<void> {
    const link = await trx
      .selectFrom('payment_links')
      .selectAll()
      .where('id', '=', linkId)
      .executeTakeFirst();
    if (!link) return;
    // Attempt rows locked before the outbox insert: the lock order of recordOrphan.
    const attempts = await trx
      .selectFrom('payment_attempts')
      .selectAll()
      .where('link_id', '=', linkId)
      .where('outcome', 'in', ['started', 'unknown', 'success'])
      .forUpdate()
      .execute();
    for (const attempt of attempts) {
      await this.outbox.enqueue(
        {
          gateway: attempt.gateway,
          reference: linkId,
          gatewayRef: attempt.gateway === 'nicepay' ? attempt.gateway_ref : null,
          amount: Number(link.amount),
          orderId: link.order_id,
          customer: { name: link.customer_name, email: link.customer_email },
          ...(link.description ? { description: link.description } : {}),
          reason: 'request abandoned before an answer was stored',
          foundAtMs: nowMs,
        },
        trx,
      );
      await trx
        .updateTable('payment_attempts')
        .set({ gateway_status: 'superseded', updated_at: new Date(nowMs) })
        .where('id', '=', attempt.id)
        .execute();
    }
    await this.setLinkStatus(trx, linkId, 'unavailable', new Date(nowMs));
  }
}

function jsonb(value: unknown) {
  return sql<unknown>`${JSON.stringify(value)}::jsonb`;
}

/**
 * Stores the answer a request got under its idempotency key, so a repeat gets the same one; only
 * while the request still holds the key (else LeaseLostError, and the transaction rolls back).
 */
async function storeAnswer(
  trx: PaymentTransaction,
  key: string,
  linkId: string,
  answer: { state: 'completed' | 'failed'; status: number; body: unknown },
  now: Date,
): Promise<void> {
  const stored = await trx
    .updateTable('idempotency_keys')
    .set({
      state: answer.state,
      response_status: answer.status,
      response_body: jsonb(answer.body),
      updated_at: now,
    })
    .where('key', '=', key)
    .where('link_id', '=', linkId)
    .where('state', '=', 'in_progress')
    .executeTakeFirst();
  if (stored.numUpdatedRows === 0n) throw new LeaseLostError(key, linkId);
}
