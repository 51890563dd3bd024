/** No entry with that id (or key) in the named queue. */
export class QueueEntryNotFoundError extends Error {
  readonly code = 'QUEUE_ENTRY_NOT_FOUND' as const;

  constructor(
    readonly queue: string,
    readonly entry: string,
  ) {
    super(`queue '${queue}' has no entry '${entry}'`);
    this.name = 'QueueEntryNotFoundError';
  }
}

export function isQueueEntryNotFoundError(err: unknown): err is QueueEntryNotFoundError {
  return (
    err instanceof QueueEntryNotFoundError ||
    (err as { code?: unknown } | null)?.code === 'QUEUE_ENTRY_NOT_FOUND'
  );
}
