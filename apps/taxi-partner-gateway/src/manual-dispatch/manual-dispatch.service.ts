import { ConflictException, Logger, NotFoundException } from '@nestjs/common';
import {
  isQueueEntryConflictError,
  isQueueEntryNotFoundError,
  QueueEntryNotFoundError,
  type DeferredQueueEntry,
} from '@app/resilience';
import type { BbdClient } from '../clients/bbd.client';
import type { Transaction } from 'kysely';
import type { AssignedVehicle, TpgTables } from '../database/tpg.tables';
import { describeBbdFailure } from '../dispatch/dispatch-failure';
import { isDispatchNotWaitingError } from '../dispatch/dispatch-not-waiting.error';
import type { DispatchService } from '../dispatch/dispatch.service';
import {
  MANUAL_DISPATCH_QUEUE_NAME,
  type ManualDispatchPayload,
  type ManualDispatchQueue,
} from '../dispatch/dispatch.types';
import type { ListableStatus } from './dto/manual-dispatch.dto';

const MAX_INT8 = 9_223_372_036_854_775_807n;

/** One entry of the manual dispatch queue as operators see it. */
export interface ManualDispatchItem {
  id: string;
  dispatchId: string;
  orderId: string;
  status: string;
  reason: string | null;
  enqueuedAt: string;
  claimedBy?: string;
  claimedAt?: string;
  attempts: number;
  vehicle?: AssignedVehicle;
  /**
   * Claim answer only: whether BBD was asked for the order before the claim. false (BBD down,
   * breaker open) means BBD may hold it too; the completion cancels BBD's order later.
   */
  bbdChecked?: boolean;
  /** Why BBD could not be asked (with `bbdChecked: false`). */
  bbdCheckFailure?: string;
}

/** The outcome of asking BBD before a claim. */
type BbdCheck = { bbdChecked: true } | { bbdChecked: false; bbdCheckFailure: string };

/** One audited move of a manual dispatch entry. */
export interface ManualDispatchAuditEvent {
  from: string | null;
  to: string;
  /** The operator (or `system`, `replayer`, `operator-api`) who made the move. */
  actor: string;
  at: string;
}

/** The operators' side of the manual dispatch queue. */
export class ManualDispatchService {
  private readonly logger = new Logger('ManualDispatchService');

  constructor(
    private readonly queue: ManualDispatchQueue,
    private readonly dispatches: DispatchService,
    private readonly bbd: BbdClient,
  ) {}

  async list(status: ListableStatus | undefined, limit = 500): Promise<ManualDispatchItem[]> {
    const entries = await this.queue.list({ ...(status ? { status } : {}), limit });
    return entries.map(toItem);
  }

  /** The audit trail of one entry; 404 when it does not exist. */
  events(id: string): Promise<ManualDispatchAuditEvent[]> {
    return this.mapErrors(id, async () => {
      await this.queue.get(id);
      const events = await this.queue.events(id);
      return events.map((event) => ({
        from: event.fromStatus,
        to: event.toStatus,
        actor: event.actor,
        at: event.at.toISOString(),
      }));
    });
  }

  /**
   * Exclusive: a second operator gets 409 naming the holder. Refused (409 naming the BBD order)
   * once the dispatch is no longer waiting for a taxi. A `failed` entry (BBD refused the order for
   * good) is requeued and claimed, since the queue claims only pending entries. BBD is asked
   * first, when `bbd-dispatch` admits it: an order BBD already holds (its create answer was lost)
   * is recorded on the dispatch, and the claim is refused like any dispatched one; a `failed` entry
   * is cancelled with that record (the replayer, which closes pending ones, never leases it).
   */
  claim(id: string, operator: string): Promise<ManualDispatchItem> {
    return this.mapErrors(id, async () => {
      const current = await this.queue.get(id);
      // Only a claim that can succeed is worth a BBD call.
      const check =
        current.status === 'pending' || current.status === 'failed'
          ? await this.checkBbd(current, operator)
          : undefined;
      const claimed = await this.dispatches.whileWaiting(current.payload.dispatchId, async (trx) => {
        if (current.status === 'failed') await this.queue.requeue(id, operator, { trx });
        return this.queue.claim(id, operator, { trx });
      });
      return { ...toItem(claimed), ...check };
    });
  }

  /** Back to pending; with `operator` only the holder may release, without it anyone (supervisor). */
  release(id: string, operator: string | undefined): Promise<ManualDispatchItem> {
    return this.mapErrors(id, async () =>
      toItem(await this.queue.release(id, operator ?? 'operator-api', { force: operator === undefined })),
    );
  }

  /**
   * The operator assigned `vehicle` by radio: the entry is completed and the dispatch becomes
   * driver_assigned (orchestrator told through the outbox) in one transaction, with the dispatch
   * row locked so a replay cannot put it on BBD in between; 409 naming the BBD order when it
   * already is. With `operator` only the holder may complete; without it (API.md's body has no
   * `operator`) anyone may, recorded as a supervisor move (`operator-api`, over the holder) like
   * `release`.
   */
  complete(id: string, vehicle: AssignedVehicle, operator: string | undefined): Promise<ManualDispatchItem> {
    return this.mapErrors(id, async () => {
      const current = await this.queue.get(id);
      if (current.status !== 'claimed') {
        throw new ConflictException({
          statusCode: 409,
          error: 'Conflict',
          message: `entry ${id} is ${current.status}; claim it before completing it`,
          entryStatus: current.status,
        });
      }
      // assignDriverWith also queues the cancel of a BBD order whose answer was lost, in one transaction.
      const completed = await this.dispatches.assignDriverWith(current.payload.dispatchId, vehicle, (trx) =>
        this.queue.complete(
          id,
          operator ?? 'operator-api',
          { vehicle },
          { force: operator === undefined, trx },
        ),
      );
      return toItem(completed);
    });
  }

  /** Asks BBD whether it holds the order; any failure leaves the decision to the operator. */
  private async checkBbd(
    entry: DeferredQueueEntry<ManualDispatchPayload>,
    operator: string,
  ): Promise<BbdCheck> {
    const { payload } = entry;
    let orders;
    try {
      // The dispatch's orderId is what the gateway sends BBD as partnerOrderId.
      orders = await this.bbd.findByPartnerOrderId(payload.orderId);
    } catch (err: unknown) {
      const failure = describeBbdFailure(err);
      this.logger.warn(`dispatch ${payload.dispatchId}: BBD not asked before the claim: ${failure}`);
      return { bbdChecked: false, bbdCheckFailure: failure };
    }
    // A completed BBD order counts too: its taxi already served the passenger.
    const held = orders.find((order) => order.status !== 'cancelled');
    if (!held) return { bbdChecked: true };
    await this.dispatches.adoptBbdOrder(
      payload.dispatchId,
      held,
      entry.status === 'failed'
        ? (trx) => this.cancelAdopted(entry.id, held.orderId, operator, trx)
        : undefined,
    );
    return { bbdChecked: true };
  }

  /** Closes a `failed` entry whose order BBD turned out to hold, with the adopt's transaction. */
  private async cancelAdopted(
    id: string,
    bbdOrderId: string,
    operator: string,
    trx: Transaction<TpgTables>,
  ): Promise<void> {
    try {
      await this.queue.cancel(id, operator, { trx, detail: { reason: `BBD holds order ${bbdOrderId}` } });
    } catch (err: unknown) {
      // Moved meanwhile (e.g. another operator claimed it): its holder gets the 409 and releases it
      // to the replayer, which closes it; the adopt still commits.
      if (!isQueueEntryConflictError(err)) throw err;
    }
  }

  private async mapErrors<T>(id: string, fn: () => Promise<T>): Promise<T> {
    try {
      // Ids are bigint: anything else (or beyond int8) cannot exist, and must not reach Postgres.
      if (!/^[0-9]{1,19}$/.test(id) || BigInt(id) > MAX_INT8)
        throw new QueueEntryNotFoundError(MANUAL_DISPATCH_QUEUE_NAME, id);
      return await fn();
    } catch (err: unknown) {
      if (isQueueEntryNotFoundError(err)) {
        throw new NotFoundException({
          statusCode: 404,
          error: 'Not Found',
          message: `manual dispatch entry ${id} not found`,
        });
      }
      if (isDispatchNotWaitingError(err)) {
        throw new ConflictException({
          statusCode: 409,
          error: 'Conflict',
          message: `${err.message}; no operator taxi may be sent for it`,
          dispatchId: err.dispatchId,
          dispatchStatus: err.status,
          ...(err.bbdOrderId ? { bbdOrderId: err.bbdOrderId } : {}),
        });
      }
      if (isQueueEntryConflictError(err)) {
        throw new ConflictException({
          statusCode: 409,
          error: 'Conflict',
          message: err.message,
          entryStatus: err.status,
          ...(err.holder ? { heldBy: err.holder } : {}),
        });
      }
      throw err;
    }
  }
}

function toItem(entry: DeferredQueueEntry<ManualDispatchPayload>): ManualDispatchItem {
  const vehicle = (entry.result as { vehicle?: AssignedVehicle } | null)?.vehicle;
  return {
    id: entry.id,
    dispatchId: entry.payload.dispatchId,
    orderId: entry.payload.orderId,
    status: entry.status,
    reason: entry.reason,
    enqueuedAt: new Date(entry.enqueuedAt).toISOString(),
    ...(entry.claimedBy ? { claimedBy: entry.claimedBy } : {}),
    ...(entry.claimedAt ? { claimedAt: new Date(entry.claimedAt).toISOString() } : {}),
    attempts: entry.attempts,
    ...(vehicle ? { vehicle } : {}),
  };
}
