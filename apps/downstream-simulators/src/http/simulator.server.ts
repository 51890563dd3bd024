import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { SimulatorsLogger } from '../common/downstream.types';
import type { FaultEntry } from '../faults/fault.registry';
import type { RouteDefinition, SimRequest, SimResponse } from './http.types';
import { RouteRouter } from './route.router';

const MAX_BODY_BYTES = 1_000_000;

/** Everything one listening simulator needs. */
export interface SimulatorServerOptions {
  name: string;
  host: string;
  /** Host put into links a customer opens (payment pages); default: the bind host, or 127.0.0.1 for a wildcard bind. */
  publicHost?: string;
  port: number;
  routes: RouteDefinition[];
  /** Error answer in the provider's own format. */
  errorResponse(status: number, routeName: string, message: string): SimResponse;
  /** The fault for a request, if any (omitted for the control API). */
  findFault?(routeName: string, path: string): FaultEntry | undefined;
  /** Called once per request to a real (non simulator-only) route or unknown path. */
  onCall?(routeName: string): void;
  logger: SimulatorsLogger;
}

/**
 * A node:http server with socket-level control: it can hang, reset and refuse connections,
 * and `stop()` destroys every socket, including hung ones.
 */
export class SimulatorServer {
  private readonly server: Server;
  private readonly router: RouteRouter;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private boundPort: number;
  private listening = false;
  private stopped = false;

  constructor(private readonly options: SimulatorServerOptions) {
    this.router = new RouteRouter(options.routes);
    this.boundPort = options.port;
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('clientError', (_err: unknown, socket: Socket) => socket.destroy());
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    return `http://${bracket(this.options.host)}:${this.boundPort}`;
  }

  /** Base of the links this simulator hands out (a wildcard bind address is no place to send a browser). */
  get publicUrl(): string {
    const wildcard = this.options.host === '0.0.0.0' || this.options.host === '::';
    const host = this.options.publicHost ?? (wildcard ? '127.0.0.1' : this.options.host);
    return `http://${bracket(host)}:${this.boundPort}`;
  }

  /** Starts listening; the first time on the configured port (0 = ephemeral), later on the same port. */
  async listen(): Promise<void> {
    if (this.listening || this.stopped) return;
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        this.server.off('listening', onListening);
        reject(
          new Error(
            `${this.options.name}: cannot listen on ${this.options.host}:${this.boundPort}: ${error.message}`,
          ),
        );
      };
      const onListening = (): void => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
      this.server.listen(this.boundPort, this.options.host);
    });
    const address = this.server.address();
    if (address !== null && typeof address === 'object') this.boundPort = address.port;
    this.listening = true;
  }

  /** Closes the listener (new connections get ECONNREFUSED) and destroys open sockets. */
  async refuse(): Promise<void> {
    await this.closeListener();
  }

  /** Listens again on the same port after `refuse()`. */
  async heal(): Promise<void> {
    await this.listen();
  }

  /** Closes the listener, destroys every socket and cancels pending delayed answers. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.closeListener();
  }

  private async closeListener(): Promise<void> {
    const wasListening = this.listening;
    this.listening = false;
    const closed = wasListening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const method = req.method ?? 'GET';
    const match = this.router.match(method, url.pathname);
    const routeName = match?.route.name ?? 'unmatched';
    const simulatorOnly = match?.route.simulatorOnly === true;
    if (!simulatorOnly) this.options.onCall?.(routeName);
    const entry = simulatorOnly ? undefined : this.options.findFault?.(routeName, url.pathname);
    const fault = entry?.fault;

    // A hung request is left open on purpose; stop() destroys its socket.
    if (fault?.mode === 'hang') return;

    let rawBody: string;
    try {
      rawBody = await readBody(req);
    } catch {
      if (!res.headersSent && !res.destroyed)
        this.send(res, this.options.errorResponse(413, routeName, 'request body too large'));
      return;
    }

    if (fault !== undefined) {
      switch (fault.mode) {
        case 'reset':
        case 'refuse':
          resetSocket(req.socket);
          return;
        case 'latency':
          await this.delay(fault.latencyMs ?? 0);
          if (this.stopped || res.destroyed) return;
          break;
        case 'error':
          this.send(res, this.options.errorResponse(fault.status ?? 503, routeName, 'simulated fault'));
          return;
        case 'flaky':
          if (entry !== undefined && entry.random() < (fault.failureRate ?? 0)) {
            this.send(
              res,
              this.options.errorResponse(fault.status ?? 503, routeName, 'simulated flaky failure'),
            );
            return;
          }
          break;
        default: {
          const unreachable: never = fault.mode;
          throw new Error(`unknown fault mode ${String(unreachable)}`);
        }
      }
    }

    if (match === undefined) {
      this.send(res, this.options.errorResponse(404, routeName, `no route for ${method} ${url.pathname}`));
      return;
    }
    let body: unknown;
    let bodyError: string | undefined;
    if (rawBody.trim() !== '') {
      try {
        body = JSON.parse(rawBody);
      } catch {
        bodyError = 'malformed JSON body';
      }
    }
    const request: SimRequest = {
      method,
      path: url.pathname,
      params: match.params,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      body,
      bodyError,
      baseUrl: this.publicUrl,
    };
    try {
      this.send(res, await match.route.handle(request));
    } catch (error: unknown) {
      const message = error instanceof Error ? error.message : String(error);
      this.options.logger.warn(`${this.options.name}: ${routeName} crashed: ${message}`);
      this.send(res, this.options.errorResponse(500, routeName, 'internal simulator error'));
    }
  }

  private send(res: ServerResponse, response: SimResponse): void {
    if (res.destroyed || res.headersSent) return;
    const contentType = response.contentType ?? 'application/json; charset=utf-8';
    const payload =
      response.body === undefined
        ? ''
        : typeof response.body === 'string' && !contentType.startsWith('application/json')
          ? response.body
          : JSON.stringify(response.body);
    res.writeHead(response.status, {
      ...(payload === '' ? {} : { 'content-type': contentType }),
      'content-length': Buffer.byteLength(payload),
      ...response.headers,
    });
    res.end(payload);
  }

  private delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('body too large'));
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Sends a TCP RST so the client sees ECONNRESET rather than a clean close. */
function resetSocket(socket: Socket): void {
  if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
  else socket.destroy();
}

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
