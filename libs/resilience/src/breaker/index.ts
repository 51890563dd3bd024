export * from './breaker.types';
export * from './breaker-config';
export * from './rolling-counts';
export * from './breaker-executor';
export * from './circuit-breaker';
export * from './circuit-breaker-manager';
export * from './default-breaker-configs';
