import { DEFAULT_BREAKER_CONFIGS, resolveBreakerConfig, type BreakerConfig } from '@app/resilience';
import type { EnvReader } from './env-reader';

/** The numeric BreakerConfig fields an override may set (functions cannot come from JSON). */
const OVERRIDABLE_FIELDS = new Set([
  'maxRequests',
  'intervalMs',
  'bucketPeriodMs',
  'timeoutMs',
  'failureThreshold',
  'failureRatioThreshold',
  'minRequests',
  'callTimeoutMs',
  'maxConcurrent',
]);

/** BREAKER_OVERRIDES: breaker name → partial config, merged over the library's defaults at start. */
export type BreakerOverrides = Record<string, Partial<Omit<BreakerConfig, 'name'>>>;

/**
 * A problem with a BREAKER_OVERRIDES value, or undefined. Every override must hold numbers only
 * and, merged over its defaults, pass the library's own config validation, so a bad override
 * stops the process at start instead of failing at the first call.
 */
export function checkBreakerOverrides(value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return 'must be a JSON object of breaker name → partial config';
  }
  for (const [name, override] of Object.entries(value)) {
    if (override === null || typeof override !== 'object' || Array.isArray(override)) {
      return `'${name}' must map to an object`;
    }
    for (const [field, fieldValue] of Object.entries(override)) {
      if (field === 'name') return `'${name}'.name cannot be overridden`;
      if (!OVERRIDABLE_FIELDS.has(field)) {
        return `'${name}'.${field} is not a breaker setting (${[...OVERRIDABLE_FIELDS].join(', ')})`;
      }
      if (typeof fieldValue !== 'number' || !Number.isFinite(fieldValue)) {
        return `'${name}'.${field} must be a finite number`;
      }
    }
    try {
      resolveBreakerConfig({
        ...DEFAULT_BREAKER_CONFIGS[name],
        ...(override as BreakerOverrides[string]),
        name,
      });
    } catch (err: unknown) {
      return `'${name}': ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return undefined;
}

/** Reads BREAKER_OVERRIDES (default `{}`), recording a problem that names the variable. */
export function readBreakerOverrides(read: EnvReader): BreakerOverrides {
  return read.json<BreakerOverrides>('BREAKER_OVERRIDES', {}, checkBreakerOverrides);
}
