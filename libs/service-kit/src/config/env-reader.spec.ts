import { EnvReader, EnvValidationError } from './env-reader';

describe('EnvReader', () => {
  it('returns defaults when variables are unset or blank', () => {
    const env = new EnvReader({ BLANK: '  ' });
    expect(env.port('PORT', 3000)).toBe(3000);
    expect(env.string('BLANK', 'x')).toBe('x');
    expect(env.url('URL', 'http://127.0.0.1:4002/')).toBe('http://127.0.0.1:4002');
    expect(env.list('GATEWAYS', ['a', 'b'] as const, ['a'])).toEqual(['a']);
    expect(() => env.done()).not.toThrow();
  });

  it('collects every problem and names each variable', () => {
    const env = new EnvReader({ PORT: '70000', URL: 'ftp://x', MODE: 'fast', GATEWAYS: 'a,a', JSON: '{' });
    env.port('PORT', 1);
    env.url('URL');
    env.oneOf('MODE', ['slow'] as const, 'slow');
    env.list('GATEWAYS', ['a', 'b'] as const, ['a']);
    env.json('JSON', {}, () => undefined);
    env.string('REQUIRED');
    let error: unknown;
    try {
      env.done();
    } catch (err: unknown) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvValidationError);
    const message = (error as Error).message;
    for (const name of ['PORT', 'URL', 'MODE', 'GATEWAYS', 'JSON', 'REQUIRED'])
      expect(message).toContain(name);
    expect((error as EnvValidationError).problems).toHaveLength(6);
  });

  it('requires secrets in production only', () => {
    expect(new EnvReader({}).secret('KEY', 'local')).toBe('local');
    const production = new EnvReader({ NODE_ENV: 'production' });
    production.secret('MIDTRANS_SERVER_KEY', 'local');
    expect(() => production.done()).toThrow(/MIDTRANS_SERVER_KEY is required when NODE_ENV=production/);
  });

  it('parses integers strictly and checks JSON with the caller’s predicate', () => {
    const env = new EnvReader({ N: '12abc', OVERRIDES: '{"a":1}' });
    expect(env.int('N', 5)).toBe(5);
    expect(
      env.json('OVERRIDES', {}, (v) => (typeof v === 'object' ? undefined : 'must be an object')),
    ).toEqual({
      a: 1,
    });
    expect(() => env.done()).toThrow(/N must be an integer/);
  });
});
