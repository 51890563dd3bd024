import type { INestApplication, LoggerService } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import type { Server } from 'node:http';

/** How a service drains on SIGTERM. */
export interface GracefulShutdownOptions {
  /** Longest wait for in-flight requests before their connections are cut (ms). Default 10 000. */
  drainTimeoutMs?: number;
  /** Longest wait for the shutdown hooks (workers, pools) after draining (ms). Default 10 000. */
  closeTimeoutMs?: number;
  /** Signals that start the drain. Default SIGTERM and SIGINT. */
  signals?: NodeJS.Signals[];
  /** Default: Nest Logger with context 'GracefulShutdown'. */
  logger?: Pick<LoggerService, 'log' | 'warn' | 'error'>;
  /** Ends the process once closed (0) or when a deadline passed (1). Default process.exit. */
  exit?: (code: number) => void;
}

/**
 * Counts in-flight requests and drains them: once draining, the listener is closed (no new
 * connections), idle keep-alive connections are closed, answers carry `Connection: close` and
 * `/health/ready` answers 503 so a balancer stops routing here.
 */
export class ShutdownDrain {
  private active = 0;
  private drainingSince: number | undefined;
  private readonly waiters = new Set<() => void>();

  /** Requests being served now. */
  get inFlight(): number {
    return this.active;
  }

  get draining(): boolean {
    return this.drainingSince !== undefined;
  }

  /** Express middleware; install it before any route. */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    if (this.draining) {
      res.setHeader('Connection', 'close');
      if (req.path === '/health/ready') {
        res.status(503).json({ status: 'draining', statusCode: 503, error: 'Service Unavailable' });
        return;
      }
    }
    this.active += 1;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.active -= 1;
      if (this.active === 0) for (const wake of this.waiters) wake();
    };
    res.once('finish', finish);
    res.once('close', finish);
    next();
  };

  /**
   * Stops accepting connections and waits until no request is in flight or `timeoutMs` passed;
   * then cuts what is left. Resolves true when everything finished in time.
   */
  async drain(server: Server, timeoutMs: number): Promise<boolean> {
    this.drainingSince ??= Date.now();
    server.close();
    server.closeIdleConnections();
    const drained = await new Promise<boolean>((resolve) => {
      if (this.active === 0) {
        resolve(true);
        return;
      }
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(true);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(false);
      }, timeoutMs);
      this.waiters.add(wake);
    });
    // Keep-alive sockets that went idle while we waited would otherwise hold server.close open.
    if (drained) server.closeIdleConnections();
    else server.closeAllConnections();
    return drained;
  }
}

/**
 * Replaces Nest's shutdown hooks with a bounded drain: on the first signal the service stops
 * accepting, lets in-flight requests finish (at most `drainTimeoutMs`), then closes the app
 * (onModuleDestroy stops replayers and outboxes, onApplicationShutdown closes pools) and exits 0;
 * if closing takes longer than `closeTimeoutMs` it exits 1. A second signal is ignored.
 * Call before `app.listen` (the middleware must precede the routes).
 */
export function enableGracefulShutdown(
  app: INestApplication,
  options: GracefulShutdownOptions = {},
): ShutdownDrain {
  const drain = new ShutdownDrain();
  const logger = options.logger ?? new Logger('GracefulShutdown');
  const drainTimeoutMs = options.drainTimeoutMs ?? 10_000;
  const closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  app.use(drain.middleware);

  let started = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (started) return;
    started = true;
    void (async () => {
      logger.log(`${signal}: draining ${drain.inFlight} in-flight request(s), accepting no more`);
      const server = app.getHttpServer() as Server;
      const drained = await drain.drain(server, drainTimeoutMs);
      if (!drained) logger.warn(`drain deadline of ${drainTimeoutMs} ms passed: remaining connections cut`);
      const deadline = setTimeout(() => {
        logger.error(`shutdown hooks did not finish within ${closeTimeoutMs} ms: exiting`);
        exit(1);
      }, closeTimeoutMs);
      deadline.unref();
      try {
        await app.close();
        clearTimeout(deadline);
        for (const sig of signals) process.removeListener(sig, onSignal);
        logger.log('closed: workers stopped, pools closed');
        exit(0);
      } catch (err: unknown) {
        clearTimeout(deadline);
        logger.error(`shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        exit(1);
      }
    })();
  };
  for (const signal of signals) process.on(signal, onSignal);
  return drain;
}
