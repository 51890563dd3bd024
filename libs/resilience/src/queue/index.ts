export * from './deferred-queue.types';
export * from './deferred-queue';
export * from './deferred-queue.migrations';
export * from './queue-replayer';
export * from './queue-entry-not-found.error';
export * from './queue-entry-conflict.error';
