import type { Kysely, Transaction } from 'kysely';
import type {
  AssignedVehicle,
  DispatchRow,
  DispatchStatus,
  LatLng,
  Passenger,
  TpgTables,
} from './tpg.tables';

/** A Kysely handle or an open transaction on the gateway's schema. */
export type TpgExecutor = Kysely<TpgTables> | Transaction<TpgTables>;

/** A dispatch as the service works with it. */
export interface Dispatch {
  id: string;
  orderId: string;
  status: DispatchStatus;
  pickup: LatLng;
  dropoff: LatLng;
  passenger: Passenger | null;
  bbdOrderId: string | null;
  reason: string | null;
  vehicle: AssignedVehicle | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewDispatch {
  id: string;
  orderId: string;
  pickup: LatLng;
  dropoff: LatLng;
  passenger: Passenger | null;
}

/** Fields a status change may set besides the status itself. */
export interface DispatchChange {
  bbdOrderId?: string | null;
  reason?: string | null;
  vehicle?: AssignedVehicle | null;
}

/** The `dispatches` table: every write is a single statement, safe against concurrent requests. */
export class DispatchRepository {
  constructor(private readonly db: Kysely<TpgTables>) {}

  /** Inserts the dispatch unless its orderId exists; returns the row that holds the orderId. */
  async insertOrGet(input: NewDispatch, now: Date): Promise<{ dispatch: Dispatch; created: boolean }> {
    const inserted = await this.db
      .insertInto('dispatches')
      .values({
        id: input.id,
        order_id: input.orderId,
        status: 'pending',
        pickup: JSON.stringify(input.pickup),
        dropoff: JSON.stringify(input.dropoff),
        passenger: JSON.stringify(input.passenger),
        bbd_order_id: null,
        reason: null,
        vehicle: JSON.stringify(null),
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('order_id').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (inserted) return { dispatch: toDispatch(inserted), created: true };
    const existing = await this.findByOrderId(input.orderId);
    // The row that won the race is committed before ON CONFLICT reports it, so it is visible here.
    if (!existing) throw new Error(`dispatch for order ${input.orderId} vanished after a conflict`);
    return { dispatch: existing, created: false };
  }

  async findById(id: string, executor: TpgExecutor = this.db): Promise<Dispatch | undefined> {
    const row = await executor.selectFrom('dispatches').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toDispatch(row) : undefined;
  }

  /** Reads the dispatch and locks its row until `trx` ends (serialises status changes against it). */
  async lockById(trx: Transaction<TpgTables>, id: string): Promise<Dispatch | undefined> {
    const row = await trx
      .selectFrom('dispatches')
      .selectAll()
      .where('id', '=', id)
      .forUpdate()
      .executeTakeFirst();
    return row ? toDispatch(row) : undefined;
  }

  async findByOrderId(orderId: string): Promise<Dispatch | undefined> {
    const row = await this.db
      .selectFrom('dispatches')
      .selectAll()
      .where('order_id', '=', orderId)
      .executeTakeFirst();
    return row ? toDispatch(row) : undefined;
  }

  /**
   * Moves the dispatch from one of `from` to `to` (compare-and-set); undefined when it was not in
   * one of `from`, so concurrent movers cannot both win.
   */
  async transition(
    executor: TpgExecutor,
    id: string,
    from: readonly DispatchStatus[],
    to: DispatchStatus,
    change: DispatchChange,
    now: Date,
  ): Promise<Dispatch | undefined> {
    const row = await executor
      .updateTable('dispatches')
      .set({
        status: to,
        updated_at: now,
        ...(change.bbdOrderId !== undefined ? { bbd_order_id: change.bbdOrderId } : {}),
        ...(change.reason !== undefined ? { reason: change.reason } : {}),
        ...(change.vehicle !== undefined ? { vehicle: JSON.stringify(change.vehicle) } : {}),
      })
      .where('id', '=', id)
      .where('status', 'in', [...from])
      .returningAll()
      .executeTakeFirst();
    return row ? toDispatch(row) : undefined;
  }

  /** Dispatches stuck in `pending` since before `olderThan` (their request died mid-call). */
  async findStalePending(olderThan: Date, limit: number): Promise<Dispatch[]> {
    const rows = await this.db
      .selectFrom('dispatches')
      .selectAll()
      .where('status', '=', 'pending')
      .where('created_at', '<', olderThan)
      .orderBy('created_at')
      .limit(limit)
      .execute();
    return rows.map(toDispatch);
  }
}

function toDispatch(row: DispatchRow): Dispatch {
  return {
    id: row.id,
    orderId: row.order_id,
    status: row.status,
    pickup: row.pickup,
    dropoff: row.dropoff,
    passenger: row.passenger ?? null,
    bbdOrderId: row.bbd_order_id,
    reason: row.reason,
    vehicle: row.vehicle ?? null,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}
