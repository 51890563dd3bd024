export * from './resilience-module-options.interface';
export * from './resilience.module-definition';
export * from './inject-breaker.decorator';
export * from './resilience.module';
