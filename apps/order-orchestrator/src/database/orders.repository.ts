import type { Database } from '@app/resilience';
import type { Kysely, Transaction } from 'kysely';
import type {
  NewOrderRow,
  OrchestratorTables,
  OrderDispatch,
  OrderPayment,
  OrderRow,
  OrderStatus,
} from './orders.tables';
import { STATUS_RANK, mayAdvance } from '../orders/order-status';

export type OrdersTx = Transaction<OrchestratorTables>;

/** Postgres unique_violation. */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === UNIQUE_VIOLATION;
}

/** Every read and write of the `orders` table. */
export class OrdersRepository {
  private readonly db: Kysely<OrchestratorTables>;

  constructor(database: Database<OrchestratorTables>) {
    this.db = database.db;
  }

  /** Runs `work` in one transaction (the order row and its outbox entries commit together). */
  transaction<T>(work: (trx: OrdersTx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(work);
  }

  async insert(row: NewOrderRow, trx: OrdersTx): Promise<void> {
    await trx.insertInto('orders').values(row).execute();
  }

  async get(id: string): Promise<OrderRow | undefined> {
    return this.db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** The user's orders, newest first, at most `limit`. */
  async history(userId: string, limit: number): Promise<OrderRow[]> {
    return this.db
      .selectFrom('orders')
      .selectAll()
      .where('user_id', '=', userId)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
  }

  async getByIdempotencyKey(key: string): Promise<OrderRow | undefined> {
    return this.db.selectFrom('orders').selectAll().where('idempotency_key', '=', key).executeTakeFirst();
  }

  /**
   * Records what the request path learnt after the order was written (payment link, TPG's answer,
   * degradations) without undoing what the outboxes or a dispatch event did meanwhile, and stores
   * the resulting answer as the one replayed for the same Idempotency-Key.
   */
  async finishCreate(
    id: string,
    outcome: {
      payment?: OrderPayment;
      dispatch?: { dispatch: OrderDispatch; status: OrderStatus };
      degraded: string[];
    },
    answer: (row: OrderRow) => unknown,
    now: Date,
  ): Promise<OrderRow> {
    return this.transaction(async (trx) => {
      const row = await trx
        .selectFrom('orders')
        .selectAll()
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const next: OrderRow = { ...row, degraded: outcome.degraded, updated_at: now };
      if (outcome.payment && row.payment === null) next.payment = outcome.payment;
      const dispatch = outcome.dispatch;
      if (dispatch && (row.dispatch as OrderDispatch).status === 'pending') next.dispatch = dispatch.dispatch;
      if (dispatch && STATUS_RANK[dispatch.status] > row.status_rank) {
        next.status = dispatch.status;
        next.status_rank = STATUS_RANK[dispatch.status];
      }
      next.first_answer = answer(next);
      await trx
        .updateTable('orders')
        .set({
          payment: JSON.stringify(next.payment),
          dispatch: JSON.stringify(next.dispatch),
          status: next.status,
          status_rank: next.status_rank,
          degraded: JSON.stringify(next.degraded),
          first_answer: JSON.stringify(next.first_answer),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      return next;
    });
  }

  async setPayment(id: string, payment: OrderPayment, now: Date): Promise<void> {
    await this.db
      .updateTable('orders')
      .set({ payment: JSON.stringify(payment), updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Applies TPG's answer to a dispatch: records the dispatch and moves the status forward (never
   * back: a dispatch event may already have moved it further).
   */
  async applyDispatch(id: string, dispatch: OrderDispatch, status: OrderStatus, now: Date): Promise<void> {
    await this.transaction(async (trx) => {
      const row = await trx
        .selectFrom('orders')
        .selectAll()
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!row) return;
      const current = row.dispatch as OrderDispatch;
      const advance = STATUS_RANK[status] > row.status_rank;
      const next: OrderDispatch =
        current.status === 'pending' || current.dispatchId === undefined || advance ? dispatch : current;
      await trx
        .updateTable('orders')
        .set({
          dispatch: JSON.stringify(next),
          ...(advance ? { status, status_rank: STATUS_RANK[status] } : {}),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
    });
  }

  /**
   * Applies a dispatch event when it moves the order forward (and is not older, by sequence, than
   * one already applied). Returns undefined for an unknown order, else whether it changed.
   */
  async applyEvent(
    id: string,
    event: { status: OrderStatus; dispatchId: string; sequence?: number; vehicle?: unknown },
    now: Date,
  ): Promise<boolean | undefined> {
    return this.transaction(async (trx) => {
      const row = await trx
        .selectFrom('orders')
        .selectAll()
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!row) return undefined;
      const lastSequence = row.last_event_sequence === null ? null : Number(row.last_event_sequence);
      if (!mayAdvance({ status: row.status, lastSequence }, event)) return false;
      const dispatch = row.dispatch as OrderDispatch;
      const dispatchState: OrderDispatch['status'] =
        event.status === 'awaiting_manual_dispatch'
          ? 'queued'
          : event.status === 'cancelled'
            ? dispatch.status
            : 'dispatched';
      await trx
        .updateTable('orders')
        .set({
          status: event.status,
          status_rank: STATUS_RANK[event.status],
          dispatch: JSON.stringify({
            status: dispatchState,
            dispatchId: event.dispatchId,
          } satisfies OrderDispatch),
          ...(event.vehicle === undefined ? {} : { vehicle: JSON.stringify(event.vehicle) }),
          ...(event.sequence === undefined ? {} : { last_event_sequence: event.sequence }),
          updated_at: now,
        })
        .where('id', '=', id)
        .execute();
      return true;
    });
  }
}
