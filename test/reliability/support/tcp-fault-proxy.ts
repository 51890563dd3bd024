import net, { type AddressInfo, type Server, type Socket } from 'node:net';

/** What the proxy does with connections: pass them on, refuse them, or accept and forward nothing. */
export type ProxyMode = 'forward' | 'refuse' | 'stall';

/**
 * A TCP proxy in front of a real server (Postgres here) whose faults a test controls:
 * `refuse()` closes the port (ECONNREFUSED) and cuts every connection; `stall()` keeps accepting
 * but forwards no byte in either direction, on new and existing connections alike;
 * `forward()` cuts the stalled connections (as a partition eventually does) and passes again.
 */
export class TcpFaultProxy {
  private server: Server | undefined;
  private readonly pairs = new Set<{ client: Socket; upstream?: Socket; stalled: boolean }>();
  private currentMode: ProxyMode = 'forward';
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(
    private readonly target: { host: string; port: number },
    public port: number,
  ) {}

  /** Listens on an ephemeral port (or `port`) and forwards to `target`. */
  static async start(target: { host: string; port: number }, port = 0): Promise<TcpFaultProxy> {
    const proxy = new TcpFaultProxy(target, port);
    await proxy.listen();
    return proxy;
  }

  get mode(): ProxyMode {
    return this.currentMode;
  }

  /** `postgres://…@host:port/db` rewritten to go through the proxy. */
  rewrite(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString();
  }

  async refuse(): Promise<void> {
    this.currentMode = 'refuse';
    this.cutAll();
    await this.closeListener();
  }

  stall(): void {
    this.currentMode = 'stall';
    for (const pair of this.pairs) pair.stalled = true;
  }

  async forward(): Promise<void> {
    this.currentMode = 'forward';
    for (const pair of [...this.pairs]) if (pair.stalled) this.cut(pair);
    if (!this.server) await this.listen();
  }

  async close(): Promise<void> {
    this.currentMode = 'refuse';
    this.cutAll();
    await this.closeListener();
  }

  private async listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  private accept(client: Socket): void {
    this.accepted += 1;
    const pair: { client: Socket; upstream?: Socket; stalled: boolean } = {
      client,
      stalled: this.currentMode === 'stall',
    };
    this.pairs.add(pair);
    client.on('error', () => this.cut(pair));
    client.on('close', () => this.cut(pair));
    if (pair.stalled) return;
    const upstream = net.connect(this.target.port, this.target.host);
    pair.upstream = upstream;
    upstream.on('error', () => this.cut(pair));
    upstream.on('close', () => this.cut(pair));
    client.on('data', (chunk: Buffer) => {
      if (!pair.stalled) upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.stalled) client.write(chunk);
    });
  }

  private cut(pair: { client: Socket; upstream?: Socket; stalled: boolean }): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }

  private cutAll(): void {
    for (const pair of [...this.pairs]) this.cut(pair);
  }

  private async closeListener(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Host and port of a postgres:// URL. */
export function targetOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port || 5432) };
}
