import type { DeferredQueueStatus } from './deferred-queue.types';

/** The entry is not in a state that allows the move (already claimed, replaying, finished, or held by someone else). */
export class QueueEntryConflictError extends Error {
  readonly code = 'QUEUE_ENTRY_CONFLICT' as const;

  constructor(
    readonly queue: string,
    readonly entryId: string,
    /** The entry's status when the move was refused. */
    readonly status: DeferredQueueStatus,
    /** Who holds it: the claiming operator or the replayer's lease owner; null when nobody. */
    readonly holder: string | null,
    readonly attempted: string,
  ) {
    super(
      `cannot ${attempted} entry ${entryId} of queue '${queue}': it is ${status}${holder ? ` (held by ${holder})` : ''}`,
    );
    this.name = 'QueueEntryConflictError';
  }
}

export function isQueueEntryConflictError(err: unknown): err is QueueEntryConflictError {
  return (
    err instanceof QueueEntryConflictError ||
    (err as { code?: unknown } | null)?.code === 'QUEUE_ENTRY_CONFLICT'
  );
}
