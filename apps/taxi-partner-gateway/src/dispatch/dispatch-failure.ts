import {
  isBreakerRejection,
  isCallTimeoutError,
  isCircuitOpenError,
  isHttpClientError,
  isHttpConnectionError,
  isHttpServerError,
  isTooManyRequestsError,
} from '@app/resilience';

/** A short, client-safe reason why BBD did not take an order (the 202's `reason`). */
export function describeBbdFailure(err: unknown): string {
  if (isCircuitOpenError(err)) return 'bbd-dispatch circuit open';
  if (isTooManyRequestsError(err)) return 'bbd-dispatch circuit half-open, probe limit reached';
  if (isBreakerRejection(err)) return 'bbd-dispatch at its concurrency limit';
  if (isCallTimeoutError(err)) return 'BBD timed out';
  if (isHttpConnectionError(err)) {
    switch (err.kind) {
      case 'timeout':
        return 'BBD timed out';
      case 'refused':
        return 'BBD unreachable (connection refused)';
      case 'reset':
        return 'BBD connection reset';
      case 'dns':
        return 'BBD unreachable (DNS)';
      case 'aborted':
        return 'BBD call aborted';
      case 'other':
        return 'BBD connection failed';
      default: {
        const never: never = err.kind;
        return `BBD connection failed (${String(never)})`;
      }
    }
  }
  if (isHttpServerError(err)) return `BBD error (HTTP ${err.status})`;
  if (isHttpClientError(err)) return `BBD refused the order (HTTP ${err.status})`;
  return 'BBD call failed';
}

/** A 4xx the downstream will give again to the same request: not 408/429, which are about timing. */
export function isDefinitiveHttpRefusal(err: unknown): boolean {
  return isHttpClientError(err) && err.status !== 408 && err.status !== 429;
}

/**
 * BBD refused this one order for good, so replaying it again is pointless (the entry is parked as
 * `failed` for an operator): a 422, or a 400 whose body is BBD's `VALIDATION_ERROR` about a field
 * of the order. Every other 4xx (401/403 our key, 404/409/413 or a bare 400 from a wrong base URL,
 * API version or proxy) would refuse every order alike: it stays retryable, so it cannot park the
 * whole queue in one pass.
 */
export function isPermanentBbdRefusal(err: unknown): boolean {
  if (!isHttpClientError(err)) return false;
  if (err.status === 422) return true;
  return err.status === 400 && bbdErrorCode(err.body) === 'VALIDATION_ERROR';
}

/** `error.code` of BBD's error body `{error: {code, message, field?}}`. */
function bbdErrorCode(body: unknown): string | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const error = (body as { error?: unknown }).error;
  if (error === null || typeof error !== 'object') return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}
