import { Logger } from '@nestjs/common';
import { Registry } from 'prom-client';
import { isBreakerRejection } from '../errors';
import { isCallTimeoutError } from '../errors/call-timeout.error';
import { isCircuitOpenError } from '../errors/circuit-open.error';
import { isHttpClientError } from '../http/http-client.error';
import { isHttpConnectionError } from '../http/http-connection.error';
import { isHttpServerError } from '../http/http-server.error';
import { registryCounter } from '../http/registry-counter';
import { AllProvidersFailedError } from './all-providers-failed.error';
import type {
  FailoverAttempt,
  FailoverOptions,
  FailoverProvider,
  FailoverResult,
  FailureClass,
} from './failover.types';

/**
 * Default meaning of a failure:
 * safe — breaker rejections, connection errors before sending (refused, dns), 4xx (incl. 429,
 * the provider refused), 5xx other than 504;
 * unknown — timeouts, resets and aborts after sending, 504 (a proxy gave up on a request the
 * origin may be processing), and anything unrecognised.
 */
export function defaultFailureClass(err: unknown): FailureClass {
  if (isBreakerRejection(err)) return 'safe';
  if (isHttpConnectionError(err)) return err.requestSent ? 'unknown' : 'safe';
  if (isHttpClientError(err)) return 'safe';
  if (isHttpServerError(err)) return err.status === 504 ? 'unknown' : 'safe';
  if (isCallTimeoutError(err)) return 'unknown';
  return 'unknown';
}

/**
 * Tries providers in order until one succeeds. Each call runs through `provider.breaker.execute`
 * here, so the provider's own code must not be guarded by the same breaker (give its HTTP client
 * no breaker). An open breaker is skipped without calling it; a breaker rejection moves on; a
 * failure is classified and, when its outcome is unknown, `resolveUnknown` decides between
 * taking the provider's value and moving on. Every attempt is recorded; all failing →
 * AllProvidersFailedError. provider_failovers_total{group,from,to} counts each move to the next.
 */
export async function failover<T>(
  providers: ReadonlyArray<FailoverProvider<T>>,
  options: FailoverOptions = {},
): Promise<FailoverResult<T>> {
  if (providers.length === 0) throw new Error('failover: at least one provider is required');
  const group = options.group ?? 'default';
  const clock = options.clock ?? Date.now;
  const logger = options.logger ?? new Logger(`Failover:${group}`);
  const failovers = registryCounter(
    options.registry ?? new Registry(),
    'provider_failovers_total',
    'Moves from one provider to the next',
    ['group', 'from', 'to'],
  );
  const attempts: FailoverAttempt[] = [];
  const retryAfters: number[] = [];

  for (let i = 0; i < providers.length; i++) {
    const provider = providers[i];
    if (i > 0) failovers.inc({ group, from: providers[i - 1].name, to: provider.name });
    if (options.signal?.aborted) throw options.signal.reason ?? new Error('failover aborted');
    const started = clock();
    const record = (attempt: Omit<FailoverAttempt, 'provider' | 'durationMs'>) =>
      attempts.push({ provider: provider.name, ...attempt, durationMs: clock() - started });

    if (provider.breaker.state === 'open') {
      retryAfters.push(provider.breaker.retryAfterMs());
      record({ outcome: 'skipped', error: `circuit breaker '${provider.breaker.name}' is open` });
      continue;
    }
    try {
      const value = await provider.breaker.execute((signal) => provider.call(linked(signal, options.signal)));
      record({ outcome: 'success' });
      return { value, provider: provider.name, attempts };
    } catch (err: unknown) {
      if (isBreakerRejection(err)) {
        if (isCircuitOpenError(err)) retryAfters.push(err.retryAfterMs);
        record({ outcome: 'rejected', error: message(err) });
        continue;
      }
      const failureClass = (provider.classify ?? defaultFailureClass)(err);
      if (failureClass === 'safe' || !provider.resolveUnknown) {
        record({
          outcome: 'failure',
          error: message(err),
          unknownOutcome: failureClass === 'unknown' || undefined,
        });
        continue;
      }
      try {
        const resolution = await provider.resolveUnknown(err);
        if (resolution.outcome === 'found') {
          record({
            outcome: 'success',
            unknownOutcome: true,
            note: `found after unknown outcome: ${message(err)}`,
          });
          return { value: resolution.value, provider: provider.name, attempts };
        }
        record({
          outcome: 'failure',
          error: message(err),
          unknownOutcome: true,
          note: 'absent after unknown outcome',
        });
      } catch (resolveErr: unknown) {
        logger.warn(`${group}: resolveUnknown of ${provider.name} failed, moving on: ${message(resolveErr)}`);
        record({
          outcome: 'failure',
          error: message(err),
          unknownOutcome: true,
          note: `resolveUnknown failed: ${message(resolveErr)}`,
        });
      }
    }
  }
  // Aborted during the last provider: the caller's reason, never "all failed" (they were not all tried honestly).
  if (options.signal?.aborted) throw options.signal.reason ?? new Error('failover aborted');
  const open = retryAfters.filter((ms) => ms > 0);
  throw new AllProvidersFailedError(group, attempts, open.length ? Math.min(...open) : undefined);
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The breaker's per-call signal, also fired by the caller's. */
function linked(signal: AbortSignal, caller?: AbortSignal): AbortSignal {
  return caller ? AbortSignal.any([signal, caller]) : signal;
}
