export * from './failover.types';
export * from './all-providers-failed.error';
export * from './failover';
