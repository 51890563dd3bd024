/** Injection token of the app's prom-client Registry. */
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
