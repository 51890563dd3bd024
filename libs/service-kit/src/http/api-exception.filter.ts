import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import { isBreakerRejection, isServiceUnavailableError } from '@app/resilience';

/** Seconds for `Retry-After` when nothing better is known. */
const DEFAULT_RETRY_AFTER_S = 5;

const DATABASE_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '57014', // query_canceled (statement_timeout)
  '08000', // connection_exception
  '08003', // connection_does_not_exist
  '08006', // connection_failure
  '08001', // sqlclient_unable_to_establish_sqlconnection
  '40001', // serialization_failure: retrying succeeds
  '40P01', // deadlock_detected: retrying succeeds
  '55P03', // lock_not_available (lock_timeout)
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  [extra: string]: unknown;
}

/**
 * The one global filter: Nest HTTP exceptions keep their shape; a dependency failure becomes a
 * 503 with Retry-After; anything unknown becomes a generic 500 with a correlation id (the stack
 * goes to the log, never to the client).
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('ApiExceptionFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const response = ctx.getResponse<Response>();
    const request = ctx.getRequest<Request>();
    if (response.headersSent) return;
    const { status, body, retryAfterS } = this.describe(exception, request);
    if (retryAfterS !== undefined) response.setHeader('Retry-After', String(retryAfterS));
    response.status(status).json(body);
  }

  describe(exception: unknown, request: Request): { status: number; body: ErrorBody; retryAfterS?: number } {
    if (exception instanceof HttpException) {
      // An HttpException may say when to come back (e.g. a 409 for a request still in progress).
      const { retryAfterMs } = exception as { retryAfterMs?: unknown };
      return {
        status: exception.getStatus(),
        body: httpExceptionBody(exception),
        ...(typeof retryAfterMs === 'number' ? { retryAfterS: toRetryAfterSeconds(retryAfterMs) } : {}),
      };
    }
    if (isServiceUnavailableError(exception)) {
      const retryAfterS = toRetryAfterSeconds(exception.retryAfterMs);
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        retryAfterS,
        body: {
          ...exception.details,
          statusCode: HttpStatus.SERVICE_UNAVAILABLE,
          error: 'Service Unavailable',
          message: exception.message,
          service: exception.service,
          retry: exception.retry,
          fallbackUsed: exception.fallbackUsed,
        },
      };
    }
    if (isBreakerRejection(exception)) {
      const rejection = exception as { breaker?: string; retryAfterMs?: number; message: string };
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        retryAfterS: toRetryAfterSeconds(rejection.retryAfterMs),
        body: {
          statusCode: HttpStatus.SERVICE_UNAVAILABLE,
          error: 'Service Unavailable',
          message: rejection.message,
          service: rejection.breaker ?? 'unknown',
          retry: true,
          fallbackUsed: false,
        },
      };
    }
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(
        `database unavailable on ${request.method} ${request.path}: ${errorMessage(exception)}`,
      );
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        retryAfterS: 2,
        body: {
          statusCode: HttpStatus.SERVICE_UNAVAILABLE,
          error: 'Service Unavailable',
          message: 'the system of record is unavailable',
          service: 'database',
          retry: true,
          fallbackUsed: false,
        },
      };
    }
    const correlationId = headerValue(request.headers['x-request-id']) ?? randomUUID();
    this.logger.error(
      `unhandled error ${correlationId} on ${request.method} ${request.path}`,
      exception instanceof Error ? exception.stack : String(exception),
    );
    return {
      status: HttpStatus.INTERNAL_SERVER_ERROR,
      body: {
        statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
        error: 'Internal Server Error',
        message: 'internal error',
        correlationId,
      },
    };
  }
}

export function toRetryAfterSeconds(retryAfterMs: number | undefined): number {
  if (retryAfterMs === undefined || !Number.isFinite(retryAfterMs) || retryAfterMs <= 0) {
    return DEFAULT_RETRY_AFTER_S;
  }
  return Math.max(1, Math.ceil(retryAfterMs / 1000));
}

function httpExceptionBody(exception: HttpException): ErrorBody {
  const status = exception.getStatus();
  const response = exception.getResponse();
  if (typeof response === 'string') {
    return { statusCode: status, error: reasonPhrase(status), message: response };
  }
  const body = response as Record<string, unknown>;
  const message = Array.isArray(body.message)
    ? body.message.join('; ')
    : String(body.message ?? exception.message);
  return { ...body, statusCode: status, error: String(body.error ?? reasonPhrase(status)), message };
}

function reasonPhrase(status: number): string {
  const name = HttpStatus[status];
  if (typeof name !== 'string') return 'Error';
  return name
    .split('_')
    .map((word) => word.charAt(0) + word.slice(1).toLowerCase())
    .join(' ');
}

function isDatabaseUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && DATABASE_ERROR_CODES.has(code)) return true;
  const message = errorMessage(err);
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout|Cannot use a pool after calling end/i.test(
    message,
  );
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first !== undefined && /^[\w.-]{1,100}$/.test(first) ? first : undefined;
}
