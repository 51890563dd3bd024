export * from './stale.cache';
