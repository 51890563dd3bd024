import { loadSimulatorsConfig } from './simulators.config';

describe('loadSimulatorsConfig', () => {
  it('uses the API.md ports and local secrets by default', () => {
    const config = loadSimulatorsConfig({});
    expect(config.ports).toMatchObject({ control: 4000, 'user-service': 4001, bbd: 4002, here: 4007 });
    expect(config.secrets).toMatchObject({
      midtransServerKey: 'local-midtrans-server-key',
      nicepayImid: 'LOCALIMID01',
    });
    expect(config.paymentWebhookBaseUrl).toBe('http://127.0.0.1:3002');
    expect(config.host).toBe('127.0.0.1');
  });

  it('reads overrides', () => {
    const config = loadSimulatorsConfig({
      BBD_SIM_PORT: '5002',
      XENDIT_CALLBACK_TOKEN: 't',
      SIMULATORS_HOST: '0.0.0.0',
    });
    expect(config.ports.bbd).toBe(5002);
    expect(config.secrets.xenditCallbackToken).toBe('t');
    expect(config.host).toBe('0.0.0.0');
  });

  it.each([
    [{ BBD_SIM_PORT: 'abc' }, 'BBD_SIM_PORT'],
    [{ HERE_SIM_PORT: '70000' }, 'HERE_SIM_PORT'],
    [{ PAYMENT_WEBHOOK_BASE_URL: 'not a url' }, 'PAYMENT_WEBHOOK_BASE_URL'],
    [{ SIMULATORS_SEED: '-1' }, 'SIMULATORS_SEED'],
  ])('fails naming the variable for %j', (env, variable) => {
    expect(() => loadSimulatorsConfig(env)).toThrow(variable);
  });

  it('requires every gateway secret in production, naming the missing one', () => {
    const complete = {
      NODE_ENV: 'production',
      MIDTRANS_SERVER_KEY: 'a',
      XENDIT_SECRET_KEY: 'b',
      XENDIT_CALLBACK_TOKEN: 'c',
      NICEPAY_MERCHANT_KEY: 'd',
      NICEPAY_IMID: 'e',
    };
    expect(loadSimulatorsConfig(complete).secrets).toMatchObject({ nicepayImid: 'e' });
    expect(() => loadSimulatorsConfig({ ...complete, NICEPAY_MERCHANT_KEY: undefined })).toThrow(
      'NICEPAY_MERCHANT_KEY',
    );
  });
});
