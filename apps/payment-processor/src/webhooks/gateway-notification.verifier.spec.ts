import { createHash } from 'node:crypto';
import { constantTimeEquals, verifyNotification, type WebhookSecrets } from './gateway-notification.verifier';

const secrets: WebhookSecrets = {
  midtransServerKey: 'server-key',
  xenditCallbackToken: 'callback-token',
  nicepayMerchantKey: 'merchant-key',
  nicepayImid: 'IMID01',
};

describe('verifyNotification', () => {
  const midtrans = (status: string, key = secrets.midtransServerKey) => ({
    order_id: 'pl_1',
    status_code: '200',
    gross_amount: '1000.00',
    transaction_status: status,
    signature_key: createHash('sha512').update(`pl_1${'200'}1000.00${key}`).digest('hex'),
  });

  it('accepts a correctly signed Midtrans notification and maps its status', () => {
    expect(verifyNotification('midtrans', {}, midtrans('settlement'), secrets)).toEqual({
      gateway: 'midtrans',
      reference: 'pl_1',
      status: 'paid',
      gatewayStatus: 'settlement',
    });
    expect(verifyNotification('midtrans', {}, midtrans('expire'), secrets)?.status).toBe('expired');
    expect(verifyNotification('midtrans', {}, midtrans('deny'), secrets)?.status).toBe('failed');
  });

  it('refuses a Midtrans signature made with another key, or a tampered amount', () => {
    expect(verifyNotification('midtrans', {}, midtrans('settlement', 'other'), secrets)).toBeUndefined();
    expect(
      verifyNotification('midtrans', {}, { ...midtrans('settlement'), gross_amount: '1.00' }, secrets),
    ).toBeUndefined();
  });

  it('checks the Xendit callback token header', () => {
    const body = { external_id: 'pl_2', status: 'PAID' };
    expect(
      verifyNotification('xendit', { 'x-callback-token': 'callback-token' }, body, secrets)?.status,
    ).toBe('paid');
    expect(
      verifyNotification('xendit', { 'x-callback-token': 'callback-tokem' }, body, secrets),
    ).toBeUndefined();
    expect(verifyNotification('xendit', {}, body, secrets)).toBeUndefined();
  });

  it('checks the Nicepay merchantToken', () => {
    const token = createHash('sha256')
      .update('IMID01TX1' + '5000' + 'merchant-key')
      .digest('hex');
    const body = { tXid: 'TX1', referenceNo: 'pl_3', amt: '5000', status: '0', merchantToken: token };
    expect(verifyNotification('nicepay', {}, body, secrets)?.status).toBe('paid');
    expect(verifyNotification('nicepay', {}, { ...body, amt: '1' }, secrets)).toBeUndefined();
  });

  it('refuses non-object bodies', () => {
    expect(verifyNotification('midtrans', {}, 'x', secrets)).toBeUndefined();
    expect(verifyNotification('nicepay', {}, [], secrets)).toBeUndefined();
  });
});

describe('constantTimeEquals', () => {
  it('compares strings of any length without throwing', () => {
    expect(constantTimeEquals('abc', 'abc')).toBe(true);
    expect(constantTimeEquals('abc', 'abd')).toBe(false);
    expect(constantTimeEquals('ab', 'abc')).toBe(false);
    expect(constantTimeEquals('', 'abc')).toBe(false);
  });
});
