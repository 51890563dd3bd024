// Public API of @app/resilience: each folder's index.ts lists what it exports.
export * from './errors';
export * from './async';
export * from './breaker';
export * from './metrics';
export * from './alerting';
export * from './nest';
export * from './http';
export * from './cache';
export * from './failover';
export * from './queue';
export * from './database';
