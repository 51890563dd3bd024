import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy does with the answer to a matching request after the target processed it. */
export type DropMode = 'hang' | 'reset';

/**
 * A pass-through HTTP proxy that can lose the answer of a request the target has already
 * processed: the request reaches the real simulator (which creates the link), then the client
 * sees a hang or a reset. This is the "gateway created it, then timed out" case, which the
 * simulators' own faults cannot produce (they fault before their handler runs).
 */
export class ResponseDroppingProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private drop: { method: string; path: string; mode: DropMode } | undefined;
  /** Requests whose answers were dropped. */
  dropped = 0;

  constructor(private readonly target: string) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.forward(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
  }

  /** Drops the answers of `method path` until cleared. */
  dropAnswers(method: string, path: string, mode: DropMode): void {
    this.drop = { method, path, mode };
  }

  clear(): void {
    this.drop = undefined;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const drop = this.drop;
    const matches = drop !== undefined && req.method === drop.method && (req.url ?? '').startsWith(drop.path);
    const target = new URL(req.url ?? '/', this.target);
    const upstream = httpRequest(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        if (matches) {
          answer.resume();
          answer.on('end', () => {
            this.dropped += 1;
            if (drop?.mode === 'reset') req.socket.resetAndDestroy();
            // 'hang': never answer; stop() destroys the socket.
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => req.socket.destroy());
    req.pipe(upstream);
  }
}
