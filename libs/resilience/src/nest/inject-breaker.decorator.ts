import { Inject } from '@nestjs/common';

/** Injection token of the breaker for one named downstream (provided by `ResilienceModule.forFeature`). */
export function getBreakerToken(name: string): string {
  return `resilience:breaker:${name}`;
}

/** Injects the breaker named `name`; import `ResilienceModule.forFeature([name])` in the module. */
export const InjectBreaker = (name: string): PropertyDecorator & ParameterDecorator =>
  Inject(getBreakerToken(name));
