import http from 'node:http';
import https from 'node:https';
import { HttpService } from '@nestjs/axios';
import { Logger, type LoggerService } from '@nestjs/common';
import axios, { type AxiosResponse, type Method } from 'axios';
import { Registry, type Counter } from 'prom-client';
import { firstValueFrom } from 'rxjs';
import type { Breaker, Clock } from '../breaker/breaker.types';
import { isBreakerRejection } from '../errors';
import { isCallTimeoutError } from '../errors/call-timeout.error';
import { HttpClientError, isHttpClientError } from './http-client.error';
import {
  HttpConnectionError,
  isHttpConnectionError,
  type HttpConnectionErrorKind,
} from './http-connection.error';
import { HttpServerError, isHttpServerError } from './http-server.error';
import { registryCounter } from './registry-counter';
import { RetryBudget, type RetryBudgetOptions } from './retry.budget';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

export interface RetryOptions {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** Backoff base: attempt n waits random() × min(maxDelayMs, baseDelayMs × 2^n) (full jitter). */
  baseDelayMs: number;
  /** Backoff cap; also the longest `Retry-After` honoured (a longer one is not retried). */
  maxDelayMs: number;
}

export interface ResilientHttpClientOptions {
  /** Downstream name: metric label and error field. */
  downstream: string;
  baseUrl: string;
  /**
   * Guards every attempt and owns its deadline (callTimeoutMs). Omit only when the caller already
   * runs the whole request through a breaker itself (e.g. `failover()`), to avoid counting twice.
   */
  breaker?: Breaker;
  /** Nest's HttpService; default one over a fresh axios instance. */
  httpService?: HttpService;
  /** Per-attempt deadline applied inside the breaker call; for breakers without callTimeoutMs. */
  timeoutMs?: number;
  /** Sent with every request (e.g. Authorization); never copied into errors. */
  headers?: Record<string, string>;
  /** Retries for idempotent requests; default none. */
  retry?: RetryOptions;
  /** Shared budget or options for this client's own; default 20 % + 3 per minute. */
  retryBudget?: RetryBudget | RetryBudgetOptions;
  /** Keep-alive pool size for this downstream. Default 50. */
  maxSockets?: number;
  /** Idle keep-alive sockets kept. Default 10. */
  maxFreeSockets?: number;
  /** [0,1) source for jitter. Default Math.random. */
  random?: () => number;
  clock?: Clock;
  /** Waits between retries. Default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  registry?: Registry;
  logger?: LoggerService;
}

export interface HttpRequest {
  method: HttpMethod;
  /** Path below baseUrl, e.g. `/v1/users/42`. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Safe to repeat; default true for GET/HEAD/PUT/DELETE, false for POST/PATCH. */
  idempotent?: boolean;
  /** The caller's cancellation; aborts the attempt in progress and stops retries. */
  signal?: AbortSignal;
}

export interface HttpResponse<T> {
  status: number;
  data: T;
  headers: Record<string, string>;
}

/** Sockets of this client's pool, for benchmarks and health pages. */
export interface SocketStats {
  /** Sockets open (active + idle). */
  open: number;
  /** Sockets carrying a request. */
  active: number;
  /** Idle keep-alive sockets. */
  free: number;
  /** Requests waiting for a socket. */
  queued: number;
}

const IDEMPOTENT_METHODS: ReadonlySet<HttpMethod> = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

const unguarded = <T>(fn: (signal: AbortSignal) => Promise<T> | T): Promise<T> =>
  Promise.resolve().then(() => fn(new AbortController().signal));

/**
 * One client per downstream on @nestjs/axios: every attempt runs inside `breaker.execute`, whose
 * AbortSignal destroys the real socket; 4xx → HttpClientError (healthy for the breaker, except
 * 408/429), 5xx → HttpServerError, no answer → HttpConnectionError. Idempotent requests retry
 * with full-jitter backoff within a per-downstream retry budget; breaker rejections never retry.
 */
export class ResilientHttpClient {
  readonly downstream: string;
  readonly retryBudget: RetryBudget;
  private readonly httpService: HttpService;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;
  private readonly execute: <T>(fn: (signal: AbortSignal) => Promise<T>) => Promise<T>;
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly retries: Counter<'downstream'>;
  private readonly budgetExhausted: Counter<'downstream'>;
  private readonly logger: LoggerService;

  constructor(private readonly options: ResilientHttpClientOptions) {
    if (!options.downstream) throw new Error('ResilientHttpClient: downstream is required');
    if (!options.baseUrl) throw new Error('ResilientHttpClient: baseUrl is required');
    const maxSockets = options.maxSockets ?? 50;
    if (!Number.isInteger(maxSockets) || maxSockets < 1) {
      throw new Error('ResilientHttpClient: maxSockets must be an integer ≥ 1');
    }
    this.downstream = options.downstream;
    const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: options.maxFreeSockets ?? 10 };
    this.httpAgent = new http.Agent(agentOptions);
    this.httpsAgent = new https.Agent(agentOptions);
    this.httpService = options.httpService ?? new HttpService(axios.create());
    const breaker = options.breaker;
    this.execute = breaker ? (fn) => breaker.execute(fn) : unguarded;
    this.clock = options.clock ?? Date.now;
    this.retryBudget =
      options.retryBudget instanceof RetryBudget
        ? options.retryBudget
        : new RetryBudget({ clock: this.clock, ...options.retryBudget });
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    const registry = options.registry ?? new Registry();
    this.retries = registryCounter(registry, 'http_client_retries_total', 'Retries sent, by downstream', [
      'downstream',
    ]);
    this.budgetExhausted = registryCounter(
      registry,
      'http_client_retry_budget_exhausted_total',
      'Retries refused because the retry budget was spent',
      ['downstream'],
    );
    this.logger = options.logger ?? new Logger(`ResilientHttpClient:${options.downstream}`);
  }

  get<T>(
    path: string,
    options: Omit<HttpRequest, 'method' | 'path' | 'body'> = {},
  ): Promise<HttpResponse<T>> {
    return this.request<T>({ ...options, method: 'GET', path });
  }

  post<T>(
    path: string,
    body?: unknown,
    options: Omit<HttpRequest, 'method' | 'path' | 'body'> = {},
  ): Promise<HttpResponse<T>> {
    return this.request<T>({ ...options, method: 'POST', path, body });
  }

  /**
   * Sends the request; resolves with 2xx/3xx answers, throws HttpClientError (4xx),
   * HttpServerError (5xx), HttpConnectionError (no answer; a breaker deadline becomes kind
   * 'timeout') or the breaker's rejection.
   */
  async request<T>(req: HttpRequest): Promise<HttpResponse<T>> {
    const idempotent = req.idempotent ?? IDEMPOTENT_METHODS.has(req.method);
    const retry = idempotent ? this.options.retry : undefined;
    this.retryBudget.recordRequest();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.execute((signal) => this.attempt<T>(req, signal));
      } catch (raw: unknown) {
        const err = this.normalise(raw, req);
        if (!retry || attempt >= retry.maxRetries || req.signal?.aborted || !this.isRetryable(err)) throw err;
        const delay = this.backoff(err, attempt, retry);
        if (delay === undefined) throw err;
        if (!this.retryBudget.tryAcquireRetry()) {
          this.budgetExhausted.inc({ downstream: this.downstream });
          throw err;
        }
        this.retries.inc({ downstream: this.downstream });
        this.logger.debug?.(`retry ${attempt + 1} of ${req.method} ${req.path} in ${Math.round(delay)} ms`);
        await this.sleep(delay);
        if (req.signal?.aborted) throw err;
      }
    }
  }

  /** Sockets of this downstream's pools (http and https together). */
  socketStats(): SocketStats {
    const count = (record: NodeJS.ReadOnlyDict<unknown[]>): number =>
      Object.values(record).reduce((sum, list) => sum + (list?.length ?? 0), 0);
    const active = count(this.httpAgent.sockets) + count(this.httpsAgent.sockets);
    const free = count(this.httpAgent.freeSockets) + count(this.httpsAgent.freeSockets);
    const queued = count(this.httpAgent.requests) + count(this.httpsAgent.requests);
    return { open: active + free, active, free, queued };
  }

  /** Closes every pooled socket; in-flight requests fail. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private async attempt<T>(req: HttpRequest, breakerSignal: AbortSignal): Promise<HttpResponse<T>> {
    const controller = new AbortController();
    const abort = (reason: unknown) => controller.abort(reason);
    const onBreaker = () => abort(breakerSignal.reason);
    const onCaller = () => abort(req.signal?.reason);
    breakerSignal.addEventListener('abort', onBreaker, { once: true });
    req.signal?.addEventListener('abort', onCaller, { once: true });
    if (breakerSignal.aborted) onBreaker();
    if (req.signal?.aborted) onCaller();
    let timedOut = false;
    const timer =
      this.options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            abort(new Error('timeout'));
          }, this.options.timeoutMs);
    const where = `${req.method} ${req.path}`;
    let response: AxiosResponse<T>;
    try {
      response = await firstValueFrom(
        this.httpService.request<T>({
          baseURL: this.options.baseUrl,
          url: req.path,
          method: req.method as Method,
          params: req.query,
          data: req.body,
          headers: { ...this.options.headers, ...req.headers },
          signal: controller.signal,
          httpAgent: this.httpAgent,
          httpsAgent: this.httpsAgent,
          proxy: false,
          maxRedirects: 0,
          validateStatus: () => true,
        }),
      );
    } catch (err: unknown) {
      const aborted = controller.signal.aborted;
      const kind: HttpConnectionErrorKind = !aborted
        ? connectionKind(err)
        : timedOut || breakerSignal.aborted
          ? 'timeout'
          : 'aborted';
      const errno = aborted ? undefined : errorCode(err);
      throw new HttpConnectionError(
        this.downstream,
        kind,
        kind !== 'refused' && kind !== 'dns',
        errno,
        where,
      );
    } finally {
      if (timer) clearTimeout(timer);
      breakerSignal.removeEventListener('abort', onBreaker);
      req.signal?.removeEventListener('abort', onCaller);
    }
    const { status, data } = response;
    if (status >= 500) throw new HttpServerError(this.downstream, status, data, where);
    if (status >= 400) {
      throw new HttpClientError(this.downstream, status, data, this.retryAfter(response), where);
    }
    return { status, data, headers: flatHeaders(response.headers) };
  }

  private normalise(err: unknown, req: HttpRequest): unknown {
    // The breaker's deadline wins the race against our own error; report it in the client's terms.
    if (isCallTimeoutError(err)) {
      const kind = req.signal?.aborted ? 'aborted' : 'timeout';
      return new HttpConnectionError(this.downstream, kind, true, undefined, `${req.method} ${req.path}`);
    }
    return err;
  }

  private isRetryable(err: unknown): boolean {
    if (isBreakerRejection(err)) return false;
    if (isHttpConnectionError(err)) return err.kind !== 'aborted';
    if (isHttpServerError(err)) return true;
    return isHttpClientError(err) && (err.status === 408 || err.status === 429);
  }

  /** Full-jitter delay, or undefined when the downstream asks for a longer wait than maxDelayMs. */
  private backoff(err: unknown, attempt: number, retry: RetryOptions): number | undefined {
    const delay = this.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt);
    if (isHttpClientError(err) && err.retryAfterMs !== undefined) {
      if (err.retryAfterMs > retry.maxDelayMs) return undefined;
      return Math.max(delay, err.retryAfterMs);
    }
    return delay;
  }

  private retryAfter(response: AxiosResponse<unknown>): number | undefined {
    const value = response.headers['retry-after'] as unknown;
    if (typeof value !== 'string' || value.trim() === '') return undefined;
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(value);
    return Number.isNaN(date) ? undefined : Math.max(0, date - this.clock());
  }
}

function errorCode(err: unknown): string | undefined {
  const code =
    (err as { code?: unknown } | null)?.code ?? (err as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' ? code : undefined;
}

function connectionKind(err: unknown): HttpConnectionErrorKind {
  switch (errorCode(err)) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset';
    case 'ETIMEDOUT':
    case 'ECONNABORTED':
      return 'timeout';
    default:
      return 'other';
  }
}

function flatHeaders(headers: AxiosResponse['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value !== undefined && value !== null)
      out[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return out;
}
