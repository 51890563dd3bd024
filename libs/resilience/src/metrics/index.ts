export * from './breaker-metrics';
