import { Logger } from '@nestjs/common';
import type { Clock, DeferredQueueEntry } from '@app/resilience';
import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { BbdClient, BbdOrder } from '../clients/bbd.client';
import type { DispatchEvent } from '../clients/order-orchestrator.client';
import type {
  Dispatch,
  DispatchChange,
  DispatchRepository,
  TpgExecutor,
} from '../database/dispatch.repository';
import type { AssignedVehicle, DispatchStatus, TpgTables } from '../database/tpg.tables';
import { describeBbdFailure } from './dispatch-failure';
import { DispatchNotWaitingError } from './dispatch-not-waiting.error';
import type {
  BbdCancelQueue,
  DispatchEventsOutbox,
  DispatchView,
  ManualDispatchPayload,
  ManualDispatchQueue,
} from './dispatch.types';
import type { CreateDispatchDto } from './dto/create-dispatch.dto';

/** A dispatch in these statuses still waits for a taxi: BBD's, or an operator's by radio. */
const WAITING: readonly DispatchStatus[] = ['queued', 'pending'];

export interface DispatchServiceOptions {
  /** How long a duplicate request waits for the first one's BBD call to settle. */
  duplicateWaitMs: number;
  /** Poll step of that wait. */
  duplicatePollMs?: number;
  /** A `pending` row older than this has lost its request (crash mid-call) and is queued. */
  stalePendingMs: number;
}

/** A write that commits or rolls back with a dispatch's status change. */
export type WithChange = (trx: Transaction<TpgTables>, changed: Dispatch) => Promise<unknown>;

/** Called after every outbox enqueue has committed (wakes the outbox replayer). */
export type OutboxNotifier = () => void;

/**
 * The dispatch flow: the row is written first, then BBD is asked through `bbd-dispatch`; anything
 * short of a BBD order puts the dispatch in the manual dispatch queue. Every status change is
 * written together with its orchestrator event in the outbox, in one transaction.
 */
export class DispatchService {
  private readonly logger = new Logger('DispatchService');
  private notifyOutbox: OutboxNotifier = () => undefined;

  constructor(
    private readonly db: Kysely<TpgTables>,
    private readonly repository: DispatchRepository,
    private readonly bbd: BbdClient,
    private readonly manualQueue: ManualDispatchQueue,
    private readonly outbox: DispatchEventsOutbox,
    private readonly bbdCancels: BbdCancelQueue,
    private readonly clock: Clock,
    private readonly options: DispatchServiceOptions,
  ) {}

  /** Registers who to wake after an event was committed to the outbox. */
  onOutboxWrite(notify: OutboxNotifier): void {
    this.notifyOutbox = notify;
  }

  /** `POST /dispatches`: insert-or-get by orderId, then BBD (only for the request that inserted). */
  async create(input: CreateDispatchDto): Promise<Dispatch> {
    const { dispatch, created } = await this.repository.insertOrGet(
      {
        id: randomUUID(),
        orderId: input.orderId,
        pickup: { lat: input.pickup.lat, lng: input.pickup.lng },
        dropoff: { lat: input.dropoff.lat, lng: input.dropoff.lng },
        passenger: input.passenger ? { name: input.passenger.name, phone: input.passenger.phone } : null,
      },
      this.now(),
    );
    if (!created) return this.settled(dispatch);
    let order: BbdOrder;
    try {
      order = await this.bbd.createOrder(this.bbdInput(dispatch));
    } catch (err: unknown) {
      const reason = describeBbdFailure(err);
      this.logger.warn(`dispatch ${dispatch.id} (order ${dispatch.orderId}) queued: ${reason}`);
      return this.queue(dispatch, reason);
    }
    return this.markDispatched(dispatch, order, ['pending']);
  }

  async get(id: string): Promise<Dispatch | undefined> {
    return this.repository.findById(id);
  }

  /**
   * Replays one manual dispatch queue entry (the replayer runs this inside `bbd-dispatch`, so the
   * BBD call here is unguarded). BBD deduplicates by partnerOrderId, so a repeat is harmless.
   */
  async replay(entry: DeferredQueueEntry<ManualDispatchPayload>, signal: AbortSignal): Promise<unknown> {
    const dispatch = await this.repository.findById(entry.payload.dispatchId);
    if (!dispatch) return { skipped: 'dispatch not found' };
    // Already on BBD (e.g. killed between markDispatched and markReplayed) or assigned: nothing to
    // send, and succeeding closes the entry.
    if (!WAITING.includes(dispatch.status)) return { skipped: dispatch.status };
    const order = await this.bbd.createOrderWithin(this.bbdInput(dispatch), signal);
    const updated = await this.markDispatched(dispatch, order, WAITING);
    return { bbdOrderId: updated.bbdOrderId, status: updated.status };
  }

  /**
   * BBD turned out to hold the order (a create whose answer was lost): a waiting dispatch becomes
   * dispatched with it, orchestrator told, and `withAdopt` runs in that transaction; a dispatch no
   * longer waiting is left as it is.
   */
  async adoptBbdOrder(
    dispatchId: string,
    order: BbdOrder,
    withAdopt?: WithChange,
  ): Promise<Dispatch | undefined> {
    const dispatch = await this.repository.findById(dispatchId);
    if (!dispatch || !WAITING.includes(dispatch.status)) return dispatch;
    this.logger.warn(`dispatch ${dispatchId}: BBD already holds order ${order.orderId}; recorded`);
    return this.markDispatched(dispatch, order, WAITING, withAdopt);
  }

  /**
   * An operator assigned a vehicle by radio: queued → driver_assigned, orchestrator told, and any
   * BBD order for it queued for cancelling, in one transaction.
   */
  async assignDriver(dispatchId: string, vehicle: AssignedVehicle): Promise<Dispatch | undefined> {
    return this.change(dispatchId, WAITING, 'driver_assigned', { vehicle }, this.queueBbdCancel);
  }

  /**
   * Runs an operator's move on the dispatch's queue entry (`claim`) only while the dispatch still
   * waits for a taxi, in one transaction with its row locked so no replay can mark it dispatched
   * underneath.
   * @throws DispatchNotWaitingError when it is already on BBD or assigned
   */
  whileWaiting<T>(dispatchId: string, move: (trx: Transaction<TpgTables>) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(async (trx) => {
      await this.lockWaiting(trx, dispatchId);
      return move(trx);
    });
  }

  /**
   * The operator's radio assignment, one transaction: with the dispatch row locked and still
   * waiting, `complete` (the entry move) runs, then queued → driver_assigned, its outbox event and
   * the `bbd-cancel` entry (keyed by the dispatch id) that cancels a BBD order whose answer was lost.
   * A replay that got a BBD order meanwhile waits for the lock and then finds the dispatch assigned.
   * @throws DispatchNotWaitingError when it is already on BBD or assigned (nothing is moved)
   */
  async assignDriverWith<T>(
    dispatchId: string,
    vehicle: AssignedVehicle,
    complete: (trx: Transaction<TpgTables>) => Promise<T>,
  ): Promise<T> {
    const { completed, assigned } = await this.db.transaction().execute(async (trx) => {
      await this.lockWaiting(trx, dispatchId);
      const done = await complete(trx);
      // The row is locked and waiting, so this compare-and-set cannot miss.
      const row = await this.transitionIn(
        trx,
        dispatchId,
        WAITING,
        'driver_assigned',
        { vehicle },
        this.queueBbdCancel,
      );
      return { completed: done, assigned: row };
    });
    if (assigned) this.notifyOutbox();
    return completed;
  }

  /**
   * Repairs what a crash can leave behind: rows still `pending` long after their request died are
   * queued; operator completions whose dispatch was not updated are applied. Each row is repaired
   * on its own: one that fails is logged, counted and retried on the next pass.
   */
  async reconcile(): Promise<{ queued: number; assigned: number; failed: number }> {
    const stale = await this.repository.findStalePending(
      new Date(this.clock() - this.options.stalePendingMs),
      100,
    );
    let queued = 0;
    let failed = 0;
    const repair = async (what: string, fn: () => Promise<boolean>): Promise<boolean> => {
      try {
        return await fn();
      } catch (err: unknown) {
        failed++;
        this.logger.warn(`reconcile: ${what} failed: ${err instanceof Error ? err.message : String(err)}`);
        return false;
      }
    };
    for (const dispatch of stale) {
      const done = await repair(`queueing interrupted dispatch ${dispatch.id}`, async () => {
        const result = await this.queue(dispatch, 'interrupted before BBD answered');
        return result.status === 'queued';
      });
      if (done) queued++;
    }
    let assigned = 0;
    const completed = await this.db
      .selectFrom('deferred_queue_entries as e')
      .innerJoin('dispatches as d', 'd.id', 'e.key')
      .select(['e.key as dispatchId', 'e.result as result'])
      .where('e.queue', '=', this.manualQueue.name)
      .where('e.status', '=', 'completed')
      .where('d.status', 'in', [...WAITING])
      .limit(100)
      .execute();
    for (const row of completed) {
      const vehicle = (row.result as { vehicle?: AssignedVehicle } | null)?.vehicle;
      if (!vehicle) continue;
      const done = await repair(
        `applying the operator completion of dispatch ${row.dispatchId}`,
        async () => (await this.assignDriver(row.dispatchId, vehicle)) !== undefined,
      );
      if (done) assigned++;
    }
    if (queued + assigned > 0)
      this.logger.warn(`reconciled ${queued} interrupted and ${assigned} completed dispatch(es)`);
    if (failed > 0) this.logger.warn(`reconcile: ${failed} repair(s) failed; retried next pass`);
    return { queued, assigned, failed };
  }

  /** The public view of a dispatch. */
  view(dispatch: Dispatch): DispatchView {
    return {
      id: dispatch.id,
      orderId: dispatch.orderId,
      status: dispatch.status,
      ...(dispatch.bbdOrderId ? { bbdOrderId: dispatch.bbdOrderId } : {}),
      ...(dispatch.status === 'queued' && dispatch.reason ? { reason: dispatch.reason } : {}),
      ...(dispatch.vehicle ? { vehicle: dispatch.vehicle } : {}),
      createdAt: dispatch.createdAt.toISOString(),
      updatedAt: dispatch.updatedAt.toISOString(),
    };
  }

  /** A duplicate request: waits for the first request's outcome; a request that died is queued. */
  private async settled(dispatch: Dispatch): Promise<Dispatch> {
    const step = this.options.duplicatePollMs ?? 50;
    let current = dispatch;
    // Counted in steps rather than read from the clock, so an injected frozen clock cannot stall it.
    for (
      let waited = 0;
      current.status === 'pending' && waited < this.options.duplicateWaitMs;
      waited += step
    ) {
      await delay(step);
      current = (await this.repository.findById(dispatch.id)) ?? current;
    }
    if (current.status !== 'pending') return current;
    return this.queue(current, 'interrupted before BBD answered');
  }

  /** pending → queued with the entry in the manual dispatch queue and the event in the outbox, atomically. */
  private async queue(dispatch: Dispatch, reason: string): Promise<Dispatch> {
    const result = await this.db.transaction().execute(async (trx) => {
      const updated = await this.repository.transition(
        trx,
        dispatch.id,
        ['pending'],
        'queued',
        { reason },
        this.now(),
      );
      if (!updated) return undefined;
      await this.manualQueue.enqueue(
        { key: updated.id, payload: { dispatchId: updated.id, orderId: updated.orderId }, reason },
        trx,
      );
      await this.enqueueEvent(trx, updated);
      return updated;
    });
    if (result) this.notifyOutbox();
    // Someone else moved it first (the first request finished, or the reconciler): report their outcome.
    return result ?? (await this.repository.findById(dispatch.id)) ?? dispatch;
  }

  private async markDispatched(
    dispatch: Dispatch,
    order: BbdOrder,
    from: readonly DispatchStatus[],
    withChange?: WithChange,
  ): Promise<Dispatch> {
    const vehicle = order.vehicle?.vehicleId
      ? {
          vehicleId: order.vehicle.vehicleId,
          ...(typeof order.vehicle.driverName === 'string' ? { driverName: order.vehicle.driverName } : {}),
          ...(typeof order.vehicle.plateNumber === 'string'
            ? { plateNumber: order.vehicle.plateNumber }
            : {}),
        }
      : undefined;
    const updated = await this.change(
      dispatch.id,
      from,
      'dispatched',
      { bbdOrderId: order.orderId, reason: null, ...(vehicle ? { vehicle } : {}) },
      withChange,
    );
    if (updated) return updated;
    const current = (await this.repository.findById(dispatch.id)) ?? dispatch;
    if (current.status === 'driver_assigned') {
      // An operator's radio taxi won the race (a replay that outlived its lease, or waited for the
      // completion's lock): this BBD order is a second taxi. Its own key, so the completion's entry
      // (possibly already replayed before this order existed) does not swallow it.
      await this.enqueueBbdCancel(this.db, current, `${current.id}:${order.orderId}`);
      this.logger.error(
        `dispatch ${dispatch.id}: BBD order ${order.orderId} arrived after an operator assigned ${current.vehicle?.vehicleId ?? 'a vehicle'}; queued its cancel`,
      );
    } else if (current.status === 'queued') {
      // Queued meanwhile (a duplicate gave up waiting): the replayer will get the same BBD order back.
      this.logger.warn(
        `dispatch ${dispatch.id}: BBD order ${order.orderId} arrived after the dispatch was queued`,
      );
    }
    return current;
  }

  /** Compare-and-set status change plus its outbox event in one transaction. */
  private async change(
    id: string,
    from: readonly DispatchStatus[],
    to: DispatchStatus,
    change: DispatchChange,
    withChange?: WithChange,
  ): Promise<Dispatch | undefined> {
    const updated = await this.db
      .transaction()
      .execute((trx) => this.transitionIn(trx, id, from, to, change, withChange));
    if (updated) this.notifyOutbox();
    return updated;
  }

  /** The status change, its outbox event and `withChange`, inside the caller's transaction. */
  private async transitionIn(
    trx: Transaction<TpgTables>,
    id: string,
    from: readonly DispatchStatus[],
    to: DispatchStatus,
    change: DispatchChange,
    withChange?: WithChange,
  ): Promise<Dispatch | undefined> {
    const row = await this.repository.transition(trx, id, from, to, change, this.now());
    if (row) {
      await this.enqueueEvent(trx, row);
      await withChange?.(trx, row);
    }
    return row;
  }

  /** WithChange of an operator's assignment: the cancel of any BBD order, keyed by the dispatch. */
  private readonly queueBbdCancel: WithChange = (trx, assigned) =>
    this.enqueueBbdCancel(trx, assigned, assigned.id);

  private async enqueueEvent(trx: TpgExecutor, dispatch: Dispatch): Promise<void> {
    if (dispatch.status === 'pending') return;
    const event: DispatchEvent = {
      orderId: dispatch.orderId,
      dispatchId: dispatch.id,
      status: dispatch.status,
      ...(dispatch.vehicle ? { vehicle: dispatch.vehicle } : {}),
    };
    await this.outbox.enqueue(
      { key: `${dispatch.id}:${dispatch.status}`, payload: event, reason: dispatch.status },
      trx,
    );
  }

  /** Queues the cancel of any BBD order for the dispatch: an operator's radio taxi serves it. */
  private async enqueueBbdCancel(executor: TpgExecutor, dispatch: Dispatch, key: string): Promise<void> {
    await this.bbdCancels.enqueue(
      {
        key,
        // The dispatch's orderId is what the gateway sends BBD as partnerOrderId.
        payload: { dispatchId: dispatch.id, partnerOrderId: dispatch.orderId },
        reason: 'operator sent a taxi by radio',
      },
      executor,
    );
  }

  /** Locks the dispatch row for `trx`; throws unless the dispatch still waits for a taxi. */
  private async lockWaiting(trx: Transaction<TpgTables>, dispatchId: string): Promise<Dispatch> {
    const dispatch = await this.repository.lockById(trx, dispatchId);
    if (!dispatch || !WAITING.includes(dispatch.status)) {
      throw new DispatchNotWaitingError(dispatchId, dispatch?.status ?? null, dispatch?.bbdOrderId ?? null);
    }
    return dispatch;
  }

  private bbdInput(dispatch: Dispatch) {
    return {
      partnerOrderId: dispatch.orderId,
      pickup: dispatch.pickup,
      dropoff: dispatch.dropoff,
      passenger: dispatch.passenger,
    };
  }

  private now(): Date {
    return new Date(this.clock());
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
