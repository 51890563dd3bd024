export * from './database.types';
export * from './database.factory';
export * from './database-migration.error';
export * from './embedded-postgres.server';
