import { Kysely, Migration, sql } from 'kysely';
import { createServer, Server, Socket } from 'node:net';
import { AddressInfo } from 'node:net';
import {
  createTestDatabase,
  createTestSchemaName,
  dropSchema,
  testDatabaseUrl,
} from '../../../../test/support/postgres';
import { createDatabase } from './database.factory';
import { DatabaseMigrationError } from './database-migration.error';

interface Tables {
  notes: { id: number; body: string };
}

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };

const migrations: Record<string, Migration> = {
  '0001_notes': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('notes')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('body', 'text', (c) => c.notNull())
        .execute();
    },
  },
  // Builder queries are schema-qualified by withSchema; raw SQL in a migration would not be.
  '0002_seed': {
    async up(db: Kysely<unknown>) {
      await (db as Kysely<Tables>).insertInto('notes').values({ id: 1, body: 'seed' }).execute();
    },
  },
};

describe('createDatabase', () => {
  it('creates the schema, runs migrations once even when two processes start together, and binds db to the schema', async () => {
    const schema = createTestSchemaName('db_migrate');
    const url = testDatabaseUrl();
    const a = createDatabase<Tables>({ url, schema, logger: silent });
    const b = createDatabase<Tables>({ url, schema, logger: silent });
    try {
      const [ra, rb] = await Promise.all([a.migrate(migrations), b.migrate(migrations)]);
      expect(
        [...ra, ...rb]
          .filter((r) => r.status === 'Success')
          .map((r) => r.migrationName)
          .sort(),
      ).toEqual(['0001_notes', '0002_seed']);
      expect(await a.db.selectFrom('notes').selectAll().execute()).toEqual([{ id: 1, body: 'seed' }]);
      const tables = await a.pool.query<{ table_name: string }>(
        'select table_name from information_schema.tables where table_schema = $1 order by table_name',
        [schema],
      );
      expect(tables.rows.map((r) => r.table_name)).toEqual([
        'kysely_migration',
        'kysely_migration_lock',
        'notes',
      ]);
      expect(await a.migrate(migrations)).toEqual([]);
    } finally {
      await b.close();
      await a.close();
      await dropSchema(url, schema);
    }
  });

  it('reports a failing migration with its name', async () => {
    const database = await createTestDatabase('db_fail', { logger: silent });
    try {
      const broken: Record<string, Migration> = {
        '0001_broken': { up: async (db) => void (await sql`select * from no_such_table`.execute(db)) },
      };
      await expect(database.migrate(broken)).rejects.toBeInstanceOf(DatabaseMigrationError);
      await expect(database.migrate(broken)).rejects.toMatchObject({ migration: '0001_broken' });
    } finally {
      await database.close();
    }
  });

  it('rejects schema names that are not plain identifiers', () => {
    expect(() => createDatabase({ url: testDatabaseUrl(), schema: 'bad"; drop' })).toThrow(/schema/);
  });

  it('ping answers true when up, false quickly when unreachable, stalled or closed', async () => {
    const database = await createTestDatabase('db_ping', { logger: silent });
    expect(await database.ping(1000)).toBe(true);
    await database.close();
    expect(await database.ping(1000)).toBe(false);

    // A server that accepts connections and never answers: the stalled-Postgres case.
    const sockets: Socket[] = [];
    const stalled: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    const port = (stalled.address() as AddressInfo).port;
    const hung = createDatabase({ url: `postgres://x@127.0.0.1:${port}/x`, schema: 'hung', logger: silent });
    const refused = createDatabase({ url: 'postgres://x@127.0.0.1:1/x', schema: 'refused', logger: silent });
    try {
      const started = Date.now();
      expect(await hung.ping(100)).toBe(false);
      expect(await refused.ping(100)).toBe(false);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      sockets.forEach((s) => s.destroy());
      await hung.close();
      await refused.close();
      await new Promise((resolve) => stalled.close(resolve));
    }
  });

  (process.env.DATABASE_URL ? it : it.skip)(
    'logs, and survives, an idle connection killed by the server',
    async () => {
      const errors: string[] = [];
      const database = await createTestDatabase('db_kill', {
        logger: { ...silent, error: (message: unknown) => void errors.push(String(message)) },
        applicationName: 'db-kill-test',
      });
      try {
        const { rows } = await database.pool.query<{ pid: number }>('select pg_backend_pid() as pid');
        const killer = createDatabase({ url: testDatabaseUrl(), schema: 'killer', logger: silent });
        await killer.pool.query('select pg_terminate_backend($1)', [rows[0].pid]);
        await killer.close();
        for (let i = 0; i < 50 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
        expect(errors.join('\n')).toMatch(/pool error/);
        expect(await database.ping()).toBe(true);
      } finally {
        await database.close();
      }
    },
  );
});
