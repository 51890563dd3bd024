import { request as httpRequest } from 'node:http';
import {
  startSimulators,
  type Simulators,
  type StartSimulatorsOptions,
  EPHEMERAL_PORTS,
} from '../src/simulators';

/** Every simulator on an ephemeral port. */

export function startEphemeral(options: StartSimulatorsOptions = {}): Promise<Simulators> {
  return startSimulators({ ports: EPHEMERAL_PORTS, ...options });
}

/** Outcome of a raw HTTP call: an answer, or the socket error code the client saw. */
export type RawOutcome =
  | { kind: 'response'; status: number; body: unknown; elapsedMs: number }
  | { kind: 'error'; code: string; message: string; elapsedMs: number };

/** One request on a fresh connection via node:http, so socket errors surface with their codes. */
export function rawRequest(
  url: string,
  options: { method?: string; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<RawOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = httpRequest(
      url,
      {
        method: options.method ?? 'GET',
        agent: false,
        headers: {
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          resolve({ kind: 'response', status: res.statusCode ?? 0, body, elapsedMs: Date.now() - started });
        });
        res.on('error', (error: NodeJS.ErrnoException) =>
          resolve({
            kind: 'error',
            code: error.code ?? 'UNKNOWN',
            message: error.message,
            elapsedMs: Date.now() - started,
          }),
        );
      },
    );
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () =>
        req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' })),
      );
    }
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({
        kind: 'error',
        code: error.code ?? 'UNKNOWN',
        message: error.message,
        elapsedMs: Date.now() - started,
      }),
    );
    req.end(payload);
  });
}

export function basic(key: string): string {
  return `Basic ${Buffer.from(`${key}:`).toString('base64')}`;
}

/** A JSON request with global fetch. */
export async function call<T = Record<string, unknown>>(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T };
}
