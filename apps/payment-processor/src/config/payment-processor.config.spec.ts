import { EnvValidationError } from '@app/service-kit';
import { loadPaymentProcessorConfig } from './payment-processor.config';

describe('loadPaymentProcessorConfig', () => {
  it('has local defaults from API.md', () => {
    const config = loadPaymentProcessorConfig({});
    expect(config).toMatchObject({
      port: 3002,
      databaseSchema: 'payments',
      gateways: ['midtrans', 'xendit', 'nicepay'],
      midtrans: { url: 'http://127.0.0.1:4003', serverKey: 'local-midtrans-server-key' },
      xendit: {
        url: 'http://127.0.0.1:4004',
        secretKey: 'local-xendit-secret-key',
        callbackToken: 'local-xendit-callback-token',
      },
      nicepay: {
        url: 'http://127.0.0.1:4005',
        merchantKey: 'local-nicepay-merchant-key',
        iMid: 'LOCALIMID01',
      },
    });
  });

  it('reads PAYMENT_GATEWAYS order and BREAKER_OVERRIDES', () => {
    const config = loadPaymentProcessorConfig({
      PAYMENT_GATEWAYS: 'nicepay, midtrans',
      BREAKER_OVERRIDES: '{"payment-xendit":{"timeoutMs":2000}}',
    });
    expect(config.gateways).toEqual(['nicepay', 'midtrans']);
    expect(config.breakerOverrides).toEqual({ 'payment-xendit': { timeoutMs: 2000 } });
  });

  it('with NODE_ENV=production, names every missing secret', () => {
    let error: unknown;
    try {
      loadPaymentProcessorConfig({ NODE_ENV: 'production', MIDTRANS_SERVER_KEY: 'k' });
    } catch (err: unknown) {
      error = err;
    }
    expect(error).toBeInstanceOf(EnvValidationError);
    const message = (error as Error).message;
    for (const name of [
      'XENDIT_SECRET_KEY',
      'XENDIT_CALLBACK_TOKEN',
      'NICEPAY_MERCHANT_KEY',
      'NICEPAY_IMID',
    ]) {
      expect(message).toContain(name);
    }
    expect(message).not.toContain('MIDTRANS_SERVER_KEY');
  });

  it('rejects bad values naming the variable', () => {
    expect(() =>
      loadPaymentProcessorConfig({
        PAYMENT_GATEWAYS: 'midtrans,paypal',
        PAYMENT_PROCESSOR_PORT: 'x',
        BREAKER_OVERRIDES: '[',
      }),
    ).toThrow(/PAYMENT_GATEWAYS[\s\S]*PAYMENT_PROCESSOR_PORT|PAYMENT_PROCESSOR_PORT[\s\S]*PAYMENT_GATEWAYS/);
    expect(() => loadPaymentProcessorConfig({ BREAKER_OVERRIDES: '[' })).toThrow(/BREAKER_OVERRIDES/);
    expect(() => loadPaymentProcessorConfig({ DATABASE_SCHEMA: 'Bad-Schema' })).toThrow(/DATABASE_SCHEMA/);
  });
});
