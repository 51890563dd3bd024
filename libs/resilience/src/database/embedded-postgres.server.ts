import { Logger } from '@nestjs/common';
import type { DatabaseLogger } from './database.types';

export interface EmbeddedPostgresOptions {
  /** Directory the data persists in across restarts; absent → in-memory. */
  dataDir?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port, reported in `url`). */
  port?: number;
  /** Concurrent wire connections; transactions are serialised across them. Default 32. */
  maxConnections?: number;
  logger?: DatabaseLogger;
}

export interface EmbeddedPostgres {
  /** postgres://postgres@host:port/postgres */
  readonly url: string;
  /** Closes every connection, stops listening and closes the engine (flushing dataDir). */
  stop(): Promise<void>;
}

/**
 * Starts PGlite (the Postgres engine compiled to WASM, in this process) behind
 * pglite-socket's wire-protocol server, so callers speak to it with the same `pg` Pool as to a
 * real server. Expensive: ~3 s and ~700 MB fresh in memory, less when reopening a dataDir.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const logger = options.logger ?? new Logger('EmbeddedPostgres');
  // Loaded lazily: services on a real DATABASE_URL never pay for the WASM engine.
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const pglite = await PGlite.create(options.dataDir ? { dataDir: options.dataDir } : {});
  const host = options.host ?? '127.0.0.1';
  const server = new PGLiteSocketServer({
    db: pglite,
    host,
    port: options.port ?? 0,
    maxConnections: options.maxConnections ?? 32,
  });
  pinExtendedProtocolBatches(server);
  server.addEventListener('error', (event: Event) => {
    const detail = (event as CustomEvent<unknown>).detail;
    logger.error(
      `embedded postgres server error: ${detail instanceof Error ? detail.message : String(detail)}`,
    );
  });
  try {
    await server.start();
  } catch (err: unknown) {
    await pglite.close();
    throw err;
  }
  const conn = server.getServerConn();
  const port = conn.slice(conn.lastIndexOf(':') + 1);
  const url = `postgres://postgres@${host}:${port}/postgres`;
  logger.log(
    `embedded postgres (PGlite${options.dataDir ? `, ${options.dataDir}` : ', in-memory'}) on ${url}`,
  );

  let stopped: Promise<void> | undefined;
  return {
    url,
    stop(): Promise<void> {
      stopped ??= (async () => {
        await server.stop();
        await pglite.close();
      })();
      return stopped;
    },
  };
}

/** The parts of pglite-socket's (internal) query queue that the patch below replaces. */
interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  resolve(bytes: number): void;
  reject(err: unknown): void;
  onData(data: Uint8Array): void;
}

interface QueryQueueInternals {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  db: {
    isInTransaction(): boolean;
    runExclusive<T>(fn: () => Promise<T>): Promise<T>;
    execProtocolRawStream(
      message: Uint8Array,
      options: { onRawData(data: Uint8Array): void },
    ): Promise<unknown>;
  };
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

/** Parse, Bind, Describe, Execute, Close, Flush: messages of an extended-protocol batch before its Sync. */
const MID_BATCH_MESSAGES = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]);

/**
 * pglite-socket 0.2.x serialises single protocol messages and keeps a connection's turn only while
 * a transaction is open, so two connections' Parse/Bind/Execute/Sync batches interleave in the one
 * PGlite session ("unnamed prepared statement does not exist", electric-sql/pglite#1046), and one
 * failed message stops the queue for good. This keeps a connection's turn from its first
 * extended-protocol message to its Sync (and through open transactions), and survives failures.
 */
export function pinExtendedProtocolBatches(server: unknown): void {
  const queue = (server as { queryQueue?: QueryQueueInternals }).queryQueue;
  if (queue === undefined || typeof queue.processQueue !== 'function') {
    throw new Error('pglite-socket internals changed: cannot pin extended-protocol batches');
  }
  let midBatch = false;
  queue.processQueue = async function processQueue(this: QueryQueueInternals): Promise<void> {
    if (this.processing || this.queue.length === 0) return;
    this.processing = true;
    try {
      while (this.queue.length > 0) {
        const pinned = this.lastHandlerId !== null && (midBatch || this.db.isInTransaction());
        const index = pinned ? this.queue.findIndex((item) => item.handlerId === this.lastHandlerId) : 0;
        if (index === -1) break; // the pinned connection's next message has not arrived yet
        const [item] = this.queue.splice(index, 1);
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(item.message, {
              onRawData: (data) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (err: unknown) {
          midBatch = false;
          this.lastHandlerId = null;
          item.reject(err);
          continue;
        }
        this.lastHandlerId = item.handlerId;
        midBatch = MID_BATCH_MESSAGES.has(item.message[0]);
        item.resolve(bytes);
      }
    } finally {
      this.processing = false;
    }
  };
  const clearQueueForHandler = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId: number): void => {
    clearQueueForHandler(handlerId);
    if (queue.lastHandlerId === handlerId && midBatch) {
      // The connection went away mid-batch: give the turn back (an open transaction is rolled
      // back by pglite-socket's own clearTransactionIfNeeded).
      midBatch = false;
      if (!queue.db.isInTransaction()) queue.lastHandlerId = null;
    }
    void queue.processQueue();
  };
}
