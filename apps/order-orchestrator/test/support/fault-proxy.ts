import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** What the proxy does with each request: forward it, answer an error, never answer, or refuse connections. */
export type ProxyMode =
  { mode: 'pass' } | { mode: 'error'; status: number } | { mode: 'hang' } | { mode: 'refuse' };

/**
 * An HTTP proxy in front of one of our real services, so a test can make that service error,
 * hang or refuse connections without touching it. Also counts the requests it received.
 */
export class FaultProxy {
  private server: http.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private current: ProxyMode = { mode: 'pass' };
  private target = '';
  requests = 0;

  private constructor(readonly port: number) {}

  /** A proxy on a free port; set its target before sending through it. */
  static async start(): Promise<FaultProxy> {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const proxy = new FaultProxy(port);
    await proxy.listen();
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setTarget(url: string): void {
    this.target = url;
  }

  async set(mode: ProxyMode): Promise<void> {
    const was = this.current.mode;
    this.current = mode;
    if (mode.mode === 'refuse' && was !== 'refuse') await this.close();
    if (mode.mode !== 'refuse' && was === 'refuse') await this.listen();
    if (mode.mode !== 'hang' && was === 'hang') this.dropSockets();
  }

  async stop(): Promise<void> {
    await this.close();
  }

  private listen(): Promise<void> {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
  }

  private async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.dropSockets();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private dropSockets(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.requests++;
    const mode = this.current;
    if (mode.mode === 'hang') return;
    if (mode.mode === 'error') {
      res.writeHead(mode.status, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          statusCode: mode.status,
          error: 'Injected',
          message: 'fault injected by the test proxy',
        }),
      );
      return;
    }
    const target = new URL(req.url ?? '/', this.target);
    const upstream = http.request(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  }
}
