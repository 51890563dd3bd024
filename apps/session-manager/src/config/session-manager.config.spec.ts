import { EnvValidationError } from '@app/service-kit';
import { loadSessionManagerConfig } from './session-manager.config';

describe('loadSessionManagerConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadSessionManagerConfig({});
    expect(config).toMatchObject({
      port: 3001,
      googleMapsUrl: 'http://127.0.0.1:4006',
      hereUrl: 'http://127.0.0.1:4007',
      sessionTtlMs: 1_800_000,
      breakerOverrides: {},
    });
    expect(config.redisUrl).toBeUndefined();
  });

  it('names every bad variable', () => {
    let error: unknown;
    try {
      loadSessionManagerConfig({
        SESSION_MANAGER_PORT: 'x',
        REDIS_URL: 'http://nope',
        TARIFF_PER_KM_IDR: '-1',
        BREAKER_OVERRIDES: '{"google-maps":{"timeoutMs":"soon"}}',
      });
    } catch (err: unknown) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvValidationError);
    const message = (error as Error).message;
    for (const name of ['SESSION_MANAGER_PORT', 'REDIS_URL', 'TARIFF_PER_KM_IDR', 'BREAKER_OVERRIDES']) {
      expect(message).toContain(name);
    }
  });
});
