import { EnvValidationError } from '@app/service-kit';
import { loadTpgConfig } from './tpg.config';

describe('loadTpgConfig', () => {
  it('applies the local defaults', () => {
    const config = loadTpgConfig({});
    expect(config).toMatchObject({
      port: 3003,
      databaseSchema: 'tpg',
      bbdUrl: 'http://127.0.0.1:4002',
      orderOrchestratorUrl: 'http://127.0.0.1:3000',
      operatorApiToken: 'local-operator-token',
      breakersDisabled: false,
      breakerOverrides: {},
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.alertWebhookUrl).toBeUndefined();
  });

  it('refuses to start in production without the operator token or the BBD key, naming them', () => {
    expect(() => loadTpgConfig({ NODE_ENV: 'production' })).toThrow(EnvValidationError);
    try {
      loadTpgConfig({ NODE_ENV: 'production', BBD_API_KEY: 'k' });
    } catch (err: unknown) {
      expect((err as Error).message).toContain('OPERATOR_API_TOKEN');
      expect((err as Error).message).not.toContain('BBD_API_KEY');
    }
    expect(
      loadTpgConfig({ NODE_ENV: 'production', BBD_API_KEY: 'k', OPERATOR_API_TOKEN: 'a-long-token' })
        .operatorApiToken,
    ).toBe('a-long-token');
  });

  it('names every invalid variable at once', () => {
    let message = '';
    try {
      loadTpgConfig({
        TPG_PORT: 'x',
        BBD_URL: 'ftp://bbd',
        BREAKER_OVERRIDES: '{"bbd-dispatch":{"timeoutMs":"soon"}}',
        BREAKERS_DISABLED: 'yes',
        DATABASE_SCHEMA: 'Bad-Schema',
      });
    } catch (err: unknown) {
      message = (err as Error).message;
    }
    for (const name of ['TPG_PORT', 'BBD_URL', 'BREAKER_OVERRIDES', 'BREAKERS_DISABLED', 'DATABASE_SCHEMA']) {
      expect(message).toContain(name);
    }
  });

  it('parses overrides, the webhook and the benchmark flag', () => {
    const config = loadTpgConfig({
      BREAKER_OVERRIDES: '{"bbd-dispatch":{"timeoutMs":2000}}',
      ALERT_WEBHOOK_URL: 'http://127.0.0.1:9093/',
      BREAKERS_DISABLED: 'true',
      REPLAY_POLL_MS: '250',
      REPLAY_BATCH_SIZE: '100',
      REPLAY_CONCURRENCY: '16',
    });
    expect(config.breakerOverrides).toEqual({ 'bbd-dispatch': { timeoutMs: 2000 } });
    expect(config.alertWebhookUrl).toBe('http://127.0.0.1:9093');
    expect(config.breakersDisabled).toBe(true);
    expect(config.replayPollMs).toBe(250);
    expect(config.replayBatchSize).toBe(100);
    expect(config.replayConcurrency).toBe(16);
  });
});
