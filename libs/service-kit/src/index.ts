export * from './config/env-reader';
export * from './http/api-exception.filter';
export * from './http/configure-app';
export * from './http/validation';
export * from './metrics/metrics.tokens';
export * from './service-kit.module';
export { SERVICE_KIT_OPTIONS } from './service-kit.options';
export type { ServiceKitOptions } from './service-kit.options';
