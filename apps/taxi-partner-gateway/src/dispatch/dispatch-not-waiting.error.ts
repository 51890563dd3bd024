import type { DispatchStatus } from '../database/tpg.tables';

/**
 * An operator move on a manual dispatch entry whose dispatch no longer waits for a taxi (already on
 * BBD, or assigned): allowing it would send a second taxi to the order.
 */
export class DispatchNotWaitingError extends Error {
  readonly code = 'DISPATCH_NOT_WAITING' as const;

  constructor(
    readonly dispatchId: string,
    /** The dispatch's status; null when the row does not exist. */
    readonly status: DispatchStatus | null,
    readonly bbdOrderId: string | null,
  ) {
    super(
      status === null
        ? `dispatch ${dispatchId} not found`
        : `dispatch ${dispatchId} is already ${status}${bbdOrderId ? ` (BBD order ${bbdOrderId})` : ''}`,
    );
    this.name = 'DispatchNotWaitingError';
  }
}

export function isDispatchNotWaitingError(err: unknown): err is DispatchNotWaitingError {
  return (
    err instanceof DispatchNotWaitingError ||
    (err as { code?: unknown } | null)?.code === 'DISPATCH_NOT_WAITING'
  );
}
