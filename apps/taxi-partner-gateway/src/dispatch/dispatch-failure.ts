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
 * BBD refused this order for good, so replaying it again is pointless (the entry is parked as
 * `failed` for an operator). 401/403 are about our credentials, not the order: they refuse every
 * order alike and must not park the whole queue.
 */
export function isPermanentBbdRefusal(err: unknown): boolean {
  return (
    isDefinitiveHttpRefusal(err) && !(isHttpClientError(err) && (err.status === 401 || err.status === 403))
  );
}
