import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kysely, Migration } from 'kysely';
import { spawn } from 'node:child_process';
import { Client } from 'pg';
import { createDatabase } from './database.factory';

/**
 * PGlite loads parts of itself with dynamic import(), which jest's VM sandbox refuses; the server
 * under test therefore runs in a plain child Node process (TS compiled on the fly with swc).
 */
const CHILD = `
const swc = require('@swc/core');
require.extensions['.ts'] = (module, file) => {
  const code = swc.transformFileSync(file, { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }).code;
  module._compile(code, file);
};
const { startEmbeddedPostgres } = require(process.argv[1]);
const quiet = { log() {}, warn() {}, error: console.error };
startEmbeddedPostgres({ dataDir: process.argv[2], maxConnections: 4, logger: quiet }).then((server) => {
  process.stdout.write(server.url + '\\n');
  process.stdin.on('data', () => server.stop().then(() => process.exit(0)));
}, (err) => { console.error(err); process.exit(1); });
`;

async function startEmbeddedPostgres(options: {
  dataDir: string;
}): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['-e', CHILD, join(__dirname, 'embedded-postgres.server.ts'), options.dataDir],
    {
      cwd: join(__dirname, '../../../..'),
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`embedded postgres child exited with ${code}`)));
  });
  return {
    url,
    async stop() {
      child.stdin.write('stop\n');
      await exited;
    },
  };
}

interface Tables {
  rides: { id: number; driver: string };
}

const silent = { log: () => undefined, warn: () => undefined, error: () => undefined };
const migrations: Record<string, Migration> = {
  '0001_rides': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('rides')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('driver', 'text', (c) => c.notNull())
        .execute();
    },
  },
};

describe('startEmbeddedPostgres', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pglite-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('serves pg clients (migrations, transactions, two connections) and keeps a dataDir across restarts', async () => {
    const server = await startEmbeddedPostgres({ dataDir });
    const database = createDatabase<Tables>({ url: server.url, schema: 'app', logger: silent });
    try {
      await database.migrate(migrations);
      await database.db.transaction().execute(async (trx) => {
        await trx.insertInto('rides').values({ id: 1, driver: 'ann' }).execute();
      });
      await expect(
        database.db.transaction().execute(async (trx) => {
          await trx.insertInto('rides').values({ id: 2, driver: 'rolled back' }).execute();
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');

      // Two wire connections: B's read waits while A's transaction is open, then sees its commit.
      const a = new Client({ connectionString: server.url });
      const b = new Client({ connectionString: server.url });
      await a.connect();
      await b.connect();
      await a.query('begin');
      await a.query(`insert into app.rides (id, driver) values (3, 'bo')`);
      let bDone = false;
      const read = b.query<{ n: string }>('select count(*) as n from app.rides').then((r) => {
        bDone = true;
        return r.rows[0].n;
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(bDone).toBe(false);
      await a.query('commit');
      expect(await read).toBe('2');
      await a.end();
      await b.end();
      expect(await database.ping(1000)).toBe(true);
    } finally {
      await database.close();
      await server.stop();
    }

    const reopened = await startEmbeddedPostgres({ dataDir });
    const again = createDatabase<Tables>({ url: reopened.url, schema: 'app', logger: silent });
    try {
      expect(await again.migrate(migrations)).toEqual([]);
      expect(await again.db.selectFrom('rides').selectAll().orderBy('id').execute()).toEqual([
        { id: 1, driver: 'ann' },
        { id: 3, driver: 'bo' },
      ]);
    } finally {
      await again.close();
      await reopened.stop();
    }
  });

  it('keeps concurrent extended-protocol queries from several connections apart (pglite#1046)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pglite-concurrent-'));
    const server = await startEmbeddedPostgres({ dataDir: dir });
    const database = createDatabase<Tables>({ url: server.url, schema: 'app', logger: silent, poolMax: 4 });
    try {
      await database.migrate(migrations);
      // Parameterised queries of different shapes from four connections at once, outside transactions.
      const results = await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          if (i % 3 === 0) {
            await database.db
              .insertInto('rides')
              .values({ id: i, driver: `d${i}` })
              .execute();
            return 'inserted';
          }
          const row = await database.db
            .selectFrom('rides')
            .select(({ fn }) => fn.countAll<string>().as('n'))
            .where('id', '>=', i % 7)
            .executeTakeFirstOrThrow();
          return typeof row.n;
        }),
      );
      expect(results.filter((r) => r === 'inserted')).toHaveLength(100);
      expect(results.filter((r) => r !== 'inserted').every((r) => r === 'string')).toBe(true);
      const rows = await database.db.selectFrom('rides').select('id').execute();
      expect(rows).toHaveLength(100);
      // A failed statement does not stop the queue for the other connections.
      await expect(
        database.db.insertInto('rides').values({ id: 0, driver: 'dup' }).execute(),
      ).rejects.toThrow();
      expect(await database.ping(1000)).toBe(true);
    } finally {
      await database.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
