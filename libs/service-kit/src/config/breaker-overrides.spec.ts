import { EnvReader } from './env-reader';
import { checkBreakerOverrides, readBreakerOverrides } from './breaker-overrides';

describe('BREAKER_OVERRIDES', () => {
  it('accepts partial configs that pass the library validation', () => {
    const read = new EnvReader({
      BREAKER_OVERRIDES: '{"bbd-dispatch":{"timeoutMs":2000},"orders-replica":{}}',
    });
    expect(readBreakerOverrides(read)).toEqual({ 'bbd-dispatch': { timeoutMs: 2000 }, 'orders-replica': {} });
    expect(() => read.done()).not.toThrow();
  });

  it.each([
    ['[1]', /JSON object/],
    ['{"bbd-dispatch":3}', /'bbd-dispatch' must map to an object/],
    ['{"bbd-dispatch":{"name":"x"}}', /name cannot be overridden/],
    ['{"bbd-dispatch":{"timeoutMs":"soon"}}', /timeoutMs must be a finite number/],
    ['{"bbd-dispatch":{"timeoutMS":2000}}', /timeoutMS is not a breaker setting/],
    ['{"bbd-dispatch":{"failureRatioThreshold":1.5}}', /'bbd-dispatch'.*failureRatioThreshold/],
    ['{"google-maps":{"timeoutMs":-1}}', /'google-maps'.*timeoutMs/],
  ])('refuses %s naming the variable and the field', (raw, problem) => {
    expect(checkBreakerOverrides(JSON.parse(raw))).toMatch(problem);
    const read = new EnvReader({ BREAKER_OVERRIDES: raw });
    readBreakerOverrides(read);
    expect(() => read.done()).toThrow(/BREAKER_OVERRIDES/);
  });
});
