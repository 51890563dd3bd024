export * from './settle-within';
