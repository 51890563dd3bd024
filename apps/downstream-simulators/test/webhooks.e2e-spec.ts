import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Simulators } from '../src/simulators';
import { basic, call, startEphemeral } from './sim-test.helper';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, string>;
}

const SECRETS = {
  midtransServerKey: 'mt-secret',
  xenditSecretKey: 'xnd-secret',
  xenditCallbackToken: 'xnd-callback',
  nicepayMerchantKey: 'np-key',
  nicepayImid: 'TESTIMID01',
};

describe('payment notifications from /_simulate/pay and /_simulate/expire', () => {
  let receiver: Server;
  let received: Received[];
  let sims: Simulators;

  beforeAll(async () => {
    received = [];
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        received.push({
          path: req.url ?? '',
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        });
        res.writeHead(200).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    sims = await startEphemeral({ secrets: SECRETS, paymentWebhookBaseUrl: `http://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await sims.stop();
    await new Promise((resolve) => receiver.close(resolve));
  });
  beforeEach(() => {
    received = [];
  });

  it('midtrans sends a settlement notification with a valid signature_key', async () => {
    await call(`${sims.urls.midtrans}/snap/v1/transactions`, {
      method: 'POST',
      body: { transaction_details: { order_id: 'pl-m', gross_amount: 42_000 } },
      headers: { authorization: basic(SECRETS.midtransServerKey) },
    });
    const result = await call(`${sims.urls.midtrans}/_simulate/pay`, {
      method: 'POST',
      body: { reference: 'pl-m' },
    });
    expect(result.body).toMatchObject({ delivered: true, status: 200 });
    expect(received).toHaveLength(1);
    const [{ path, body }] = received;
    expect(path).toBe('/webhooks/midtrans');
    expect(body).toMatchObject({
      order_id: 'pl-m',
      transaction_status: 'settlement',
      status_code: '200',
      gross_amount: '42000.00',
    });
    const expected = createHash('sha512')
      .update(`pl-m200${'42000.00'}${SECRETS.midtransServerKey}`)
      .digest('hex');
    expect(body.signature_key).toBe(expected);

    const status = await call(`${sims.urls.midtrans}/v2/pl-m/status`, {
      headers: { authorization: basic(SECRETS.midtransServerKey) },
    });
    expect(status.body).toMatchObject({ transaction_status: 'settlement' });
    const twice = await call(`${sims.urls.midtrans}/_simulate/expire`, {
      method: 'POST',
      body: { reference: 'pl-m' },
    });
    expect(twice.status).toBe(409);
  });

  it('xendit sends a PAID callback with x-callback-token', async () => {
    const invoice = await call<{ id: string }>(`${sims.urls.xendit}/v2/invoices`, {
      method: 'POST',
      body: { external_id: 'pl-x', amount: 10_000, payer_email: 'a@b.co', description: 'Ride' },
      headers: { authorization: basic(SECRETS.xenditSecretKey) },
    });
    await call(`${sims.urls.xendit}/_simulate/pay`, { method: 'POST', body: { reference: 'pl-x' } });
    expect(received).toHaveLength(1);
    expect(received[0].path).toBe('/webhooks/xendit');
    expect(received[0].headers['x-callback-token']).toBe(SECRETS.xenditCallbackToken);
    expect(received[0].body).toMatchObject({
      id: invoice.body.id,
      external_id: 'pl-x',
      status: 'PAID',
      paid_amount: 10_000,
    });
  });

  it('nicepay sends a notification whose merchantToken checks out, and expiry works too', async () => {
    const timeStamp = '20250303100000';
    const token = createHash('sha256')
      .update(`${timeStamp}${SECRETS.nicepayImid}pl-n5000${SECRETS.nicepayMerchantKey}`)
      .digest('hex');
    const registration = await call<{ tXid: string; resultCd: string }>(
      `${sims.urls.nicepay}/nicepay/redirect/v2/registration`,
      {
        method: 'POST',
        body: { timeStamp, iMid: SECRETS.nicepayImid, referenceNo: 'pl-n', amt: 5000, merchantToken: token },
      },
    );
    expect(registration.body.resultCd).toBe('0000');
    await call(`${sims.urls.nicepay}/_simulate/expire`, { method: 'POST', body: { reference: 'pl-n' } });
    expect(received).toHaveLength(1);
    const { body } = received[0];
    expect(received[0].path).toBe('/webhooks/nicepay');
    expect(body).toMatchObject({
      tXid: registration.body.tXid,
      referenceNo: 'pl-n',
      amt: '5000',
      status: '4',
    });
    const expected = createHash('sha256')
      .update(`${SECRETS.nicepayImid}${registration.body.tXid}5000${SECRETS.nicepayMerchantKey}`)
      .digest('hex');
    expect(body.merchantToken).toBe(expected);
  });

  it('reports an unknown reference and an unreachable receiver', async () => {
    expect(
      (await call(`${sims.urls.xendit}/_simulate/pay`, { method: 'POST', body: { reference: 'none' } }))
        .status,
    ).toBe(404);
    const orphan = await startEphemeral({ secrets: SECRETS, paymentWebhookBaseUrl: 'http://127.0.0.1:1' });
    try {
      await call(`${orphan.urls.midtrans}/snap/v1/transactions`, {
        method: 'POST',
        body: { transaction_details: { order_id: 'pl-o', gross_amount: 1000 } },
        headers: { authorization: basic(SECRETS.midtransServerKey) },
      });
      const result = await call(`${orphan.urls.midtrans}/_simulate/pay`, {
        method: 'POST',
        body: { reference: 'pl-o' },
      });
      expect(result.status).toBe(200);
      expect(result.body).toMatchObject({ delivered: false, error: expect.any(String) });
    } finally {
      await orphan.stop();
    }
  });
});
