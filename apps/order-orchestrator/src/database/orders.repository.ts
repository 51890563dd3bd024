import type { Database } from '@app/resilience';
import { sql, type Kysely, type Transaction } from 'kysely';
import type {
  NewOrderRow,
  OrchestratorTables,
  OrderDispatch,
  OrderPayment,
  OrderRow,
  OrderStatus,
} from './orders.tables';
import { STATUS_RANK } from '../orders/order-status';

export type OrdersTx = Transaction<OrchestratorTables>;

/** Postgres unique_violation. */
const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === UNIQUE_VIOLATION;
}

/** No first answer stored yet: SQL NULL or (as inserted) JSON null. */
const noAnswerYet = sql<boolean>`coalesce(first_answer, 'null'::jsonb) = 'null'::jsonb`;

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
   * the resulting answer as the one replayed for the same Idempotency-Key — unless a replay froze
   * one already (see freezeAnswer): then the returned row carries the frozen one, so every answer
   * for the key is the same.
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
      // Under the row lock: a compare-and-set against freezeAnswer.
      next.first_answer = row.first_answer ?? answer(next);
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

  /**
   * Stores `answer` as the order's first answer unless one is stored already (compare-and-set);
   * returns the stored one. For a first request that never finished (it died after the commit).
   */
  async freezeAnswer(id: string, answer: unknown): Promise<unknown> {
    const frozen = await this.db
      .updateTable('orders')
      .set({ first_answer: JSON.stringify(answer) })
      .where('id', '=', id)
      .where(noAnswerYet)
      .returning('first_answer')
      .executeTakeFirst();
    if (frozen) return frozen.first_answer;
    // Someone stored one first; a new statement (new snapshot) sees it.
    const row = await this.db
      .selectFrom('orders')
      .select('first_answer')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return row.first_answer;
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
    const rank = STATUS_RANK[status];
    // One UPDATE (the row lock and the checks in one round trip): SET sees the row as it was.
    await this.db
      .updateTable('orders')
      .set({
        dispatch: sql<string>`case when dispatch->>'status' = 'pending' or not (dispatch ? 'dispatchId') or status_rank < ${rank} then ${JSON.stringify(dispatch)}::jsonb else dispatch end`,
        status: sql<OrderStatus>`case when status_rank < ${rank} then ${status}::text else status end`,
        status_rank: sql<number>`greatest(status_rank, ${rank}::integer)`,
        updated_at: now,
      })
      .where('id', '=', id)
      .execute();
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
    const dispatchState: OrderDispatch['status'] | undefined =
      event.status === 'awaiting_manual_dispatch'
        ? 'queued'
        : event.status === 'cancelled'
          ? undefined
          : 'dispatched';
    // mayAdvance() as one guarded UPDATE, and whether the order exists, in one statement (one round
    // trip); a cancel keeps the dispatch's own state.
    const row = await this.db
      .with('moved', (db) =>
        db
          .updateTable('orders')
          .set({
            status: event.status,
            status_rank: STATUS_RANK[event.status],
            dispatch: sql<string>`jsonb_build_object('status', ${
              dispatchState === undefined ? sql`dispatch->>'status'` : sql`${dispatchState}::text`
            }, 'dispatchId', ${event.dispatchId}::text)`,
            ...(event.vehicle === undefined ? {} : { vehicle: JSON.stringify(event.vehicle) }),
            ...(event.sequence === undefined ? {} : { last_event_sequence: event.sequence }),
            updated_at: now,
          })
          .where('id', '=', id)
          .where('status', 'not in', ['completed', 'cancelled'])
          .where('status_rank', '<', STATUS_RANK[event.status])
          .$if(event.sequence !== undefined, (qb) =>
            qb.where((eb) =>
              eb.or([
                eb('last_event_sequence', 'is', null),
                eb('last_event_sequence', '<', String(event.sequence ?? 0)),
              ]),
            ),
          )
          .returning('id'),
      )
      .selectFrom('orders')
      .select((eb) => eb.exists(eb.selectFrom('moved').select('moved.id')).as('applied'))
      .where('id', '=', id)
      .executeTakeFirst();
    return row === undefined ? undefined : Boolean(row.applied);
  }
}
