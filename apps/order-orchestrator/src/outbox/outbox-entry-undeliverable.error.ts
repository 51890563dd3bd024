/** An outbox entry that will not be delivered any more (failed permanently, or cancelled). */
export class OutboxEntryUndeliverableError extends Error {
  readonly outboxEntryUndeliverable = true;

  constructor(
    readonly entryId: string,
    readonly status: 'failed' | 'cancelled',
    /** The error the entry was given up on (the downstream's own answer), when known. */
    readonly lastError: string | null,
  ) {
    super(`outbox entry ${entryId} is ${status}: ${lastError ?? 'no error recorded'}`);
    this.name = 'OutboxEntryUndeliverableError';
  }
}

export function isOutboxEntryUndeliverableError(err: unknown): err is OutboxEntryUndeliverableError {
  return (err as { outboxEntryUndeliverable?: unknown } | null)?.outboxEntryUndeliverable === true;
}
