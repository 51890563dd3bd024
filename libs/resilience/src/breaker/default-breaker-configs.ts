import type { BreakerConfig } from './breaker.types';

/** Names of every downstream of the design, each guarded by its own breaker. */
export const BREAKER_NAMES = [
  'bbd-dispatch',
  'bbd-tracking',
  'payment-midtrans',
  'payment-xendit',
  'payment-nicepay',
  'payment-processor',
  'taxipartnergateway',
  'user-service',
  'session-manager',
  'google-maps',
  'here-maps',
  'order-orchestrator-callbacks',
] as const;

export type BreakerName = (typeof BREAKER_NAMES)[number];

const payment = (name: string): BreakerConfig => ({
  name,
  maxRequests: 2,
  intervalMs: 60_000,
  timeoutMs: 30_000,
  failureThreshold: 3,
  failureRatioThreshold: 0.5,
  minRequests: 10,
  callTimeoutMs: 8_000,
});

/**
 * Default config of every breaker of the design, keyed by breaker name (see the table in
 * libs/resilience/README.md). Apps merge `BREAKER_OVERRIDES` over these; never mutate them.
 */
export const DEFAULT_BREAKER_CONFIGS: Readonly<Record<BreakerName, Readonly<BreakerConfig>>> &
  Readonly<Record<string, Readonly<BreakerConfig>>> = Object.freeze({
  'bbd-dispatch': {
    name: 'bbd-dispatch',
    maxRequests: 3,
    intervalMs: 60_000,
    timeoutMs: 30_000,
    failureThreshold: 5,
    failureRatioThreshold: 0.5,
    minRequests: 10,
    callTimeoutMs: 5_000,
  },
  'bbd-tracking': {
    name: 'bbd-tracking',
    maxRequests: 3,
    intervalMs: 30_000,
    timeoutMs: 15_000,
    failureThreshold: 5,
    failureRatioThreshold: 0.5,
    minRequests: 20,
    callTimeoutMs: 2_000,
  },
  'payment-midtrans': payment('payment-midtrans'),
  'payment-xendit': payment('payment-xendit'),
  'payment-nicepay': payment('payment-nicepay'),
  'payment-processor': {
    name: 'payment-processor',
    maxRequests: 3,
    intervalMs: 60_000,
    timeoutMs: 30_000,
    failureThreshold: 5,
    failureRatioThreshold: 0.5,
    minRequests: 10,
    callTimeoutMs: 10_000,
  },
  taxipartnergateway: {
    name: 'taxipartnergateway',
    maxRequests: 3,
    intervalMs: 60_000,
    timeoutMs: 30_000,
    failureThreshold: 5,
    failureRatioThreshold: 0.5,
    minRequests: 10,
    callTimeoutMs: 6_000,
  },
  'user-service': {
    name: 'user-service',
    maxRequests: 3,
    intervalMs: 30_000,
    timeoutMs: 15_000,
    failureThreshold: 5,
    failureRatioThreshold: 0.5,
    minRequests: 20,
    callTimeoutMs: 2_000,
  },
  'session-manager': {
    name: 'session-manager',
    maxRequests: 3,
    intervalMs: 30_000,
    timeoutMs: 15_000,
    failureThreshold: 5,
    failureRatioThreshold: 0.5,
    minRequests: 20,
    callTimeoutMs: 3_000,
  },
  'google-maps': {
    name: 'google-maps',
    maxRequests: 2,
    intervalMs: 30_000,
    timeoutMs: 20_000,
    failureThreshold: 3,
    failureRatioThreshold: 0.5,
    minRequests: 10,
    callTimeoutMs: 1_500,
  },
  'here-maps': {
    name: 'here-maps',
    maxRequests: 2,
    intervalMs: 30_000,
    timeoutMs: 20_000,
    failureThreshold: 3,
    failureRatioThreshold: 0.5,
    minRequests: 10,
    callTimeoutMs: 1_500,
  },
  'order-orchestrator-callbacks': {
    name: 'order-orchestrator-callbacks',
    maxRequests: 2,
    intervalMs: 60_000,
    timeoutMs: 30_000,
    failureThreshold: 5,
    failureRatioThreshold: 0.5,
    minRequests: 10,
    callTimeoutMs: 3_000,
  },
});
