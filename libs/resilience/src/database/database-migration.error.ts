/** A migration failed at start; `migration` names it when Kysely reported which one. */
export class DatabaseMigrationError extends Error {
  readonly code = 'DATABASE_MIGRATION_FAILED' as const;

  constructor(
    readonly schema: string,
    readonly migration: string | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(
      `migration ${migration ? `'${migration}' ` : ''}failed in schema '${schema}': ${String(
        (options.cause as { message?: unknown } | undefined)?.message ?? options.cause,
      )}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'DatabaseMigrationError';
  }
}

export function isDatabaseMigrationError(err: unknown): err is DatabaseMigrationError {
  return err instanceof DatabaseMigrationError;
}
