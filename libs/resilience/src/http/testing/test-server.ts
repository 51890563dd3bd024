import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';

export interface TestServer {
  url: string;
  port: number;
  /** Requests received. */
  hits: number;
  /** Connections currently open, and the most seen at once. */
  openConnections: number;
  maxConnections: number;
  /** Resolves when the next connection closes. */
  nextClose(): Promise<void>;
  close(): Promise<void>;
}

/** A real node:http server on a free port, counting requests and connections. */
export async function startTestServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer((req, res) => {
    state.hits++;
    handler(req, res);
  });
  const closeWaiters: Array<() => void> = [];
  server.on('connection', (socket) => {
    state.openConnections++;
    state.maxConnections = Math.max(state.maxConnections, state.openConnections);
    socket.on('close', () => {
      state.openConnections--;
      closeWaiters.splice(0).forEach((resolve) => resolve());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const state: TestServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    hits: 0,
    openConnections: 0,
    maxConnections: 0,
    nextClose: () => new Promise<void>((resolve) => closeWaiters.push(resolve)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return state;
}

/** A port nothing listens on (bound then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Polls `predicate` every 5 ms until it holds or `timeoutMs` passes. */
export async function waitFor(predicate: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
