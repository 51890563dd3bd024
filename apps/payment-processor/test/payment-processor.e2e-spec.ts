import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import request from 'supertest';
import {
  startSimulators,
  type FaultSpec,
  type Simulators,
  EPHEMERAL_PORTS,
} from '../../downstream-simulators/src/simulators';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../../../test/support/postgres';
import type { GatewayName } from '../src/config/payment-processor.config';
import { GatewayInspector } from './support/gateway-inspector';
import {
  eventually,
  freePort,
  startPaymentApp,
  startPaymentAppWithSimulators,
  testBreakerOverrides,
  type PaymentApp,
} from './support/payment-test-app';
import { ResponseDroppingProxy } from './support/response-dropping.proxy';

const GATEWAYS: GatewayName[] = ['midtrans', 'xendit', 'nicepay'];

let orderSeq = 0;
function linkBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  orderSeq += 1;
  return {
    orderId: `ord-${Date.now()}-${orderSeq}`,
    amount: 25_000,
    currency: 'IDR',
    customer: { name: 'Siti Rahma', email: 'siti@example.com' },
    description: 'Ride from Sudirman to Kemang',
    ...overrides,
  };
}

interface CreatedBody {
  id: string;
  gateway: GatewayName;
  url: string;
  status: string;
  attempts: Array<{ gateway: string; outcome: string; error?: string; unknownOutcome?: boolean }>;
}

/** Lets the outbox expire every orphan (faults healed first), then says where the link is payable. */
async function settledPayableGateways(
  sims: Simulators,
  pa: PaymentApp,
  pool: Pool,
  schema: string,
  id: string,
): Promise<GatewayName[]> {
  await sims.faults.clear();
  await eventually(async () => {
    await pa.outbox.drainOnce();
    const { rows } = await pool.query(
      `select count(*)::int as n from "${schema}".deferred_queue_entries where key like $1 and status in ('pending','replaying')`,
      [`%:${id}`],
    );
    return rows[0].n === 0;
  });
  const link = (await request(pa.url).get(`/payment-links/${id}`)).body as {
    gateway: GatewayName;
    url: string | null;
    amount: number;
  };
  const tXid =
    link.gateway === 'nicepay' && link.url
      ? (new URL(link.url).searchParams.get('tXid') ?? undefined)
      : undefined;
  const inspect = new GatewayInspector(sims);
  const out: GatewayName[] = [];
  for (const gateway of GATEWAYS) {
    if (await inspect.payable(gateway, id, gateway === 'nicepay' ? { tXid, amount: link.amount } : {}))
      out.push(gateway);
  }
  return out;
}

describe('Payment Processor (e2e, simulators + Postgres)', () => {
  const databaseUrl = testDatabaseUrl();
  const schema = createTestSchemaName('payments_e2e');
  let sims: Simulators;
  let pa: PaymentApp;
  let inspect: GatewayInspector;
  let pool: Pool;

  beforeAll(async () => {
    ({ sims, pa } = await startPaymentAppWithSimulators({ databaseUrl, schema }));
    inspect = new GatewayInspector(sims);
    pool = new Pool({ connectionString: databaseUrl, max: 2 });
  });

  afterEach(async () => {
    await sims.faults.clear();
  });

  afterAll(async () => {
    await pa?.close();
    await sims?.stop();
    await pool?.end();
    await dropSchema(databaseUrl, schema);
  });

  const post = (body: Record<string, unknown>, key?: string) => {
    const req = request(pa.url).post('/payment-links').send(body);
    return key === undefined ? req : req.set('Idempotency-Key', key);
  };

  const payableGateways = (id: string): Promise<GatewayName[]> =>
    settledPayableGateways(sims, pa, pool, schema, id);

  describe('POST /payment-links', () => {
    it('creates a link at the first gateway and GET returns it', async () => {
      const res = await post(linkBody()).expect(201);
      const body = res.body as CreatedBody;
      expect(body).toMatchObject({ gateway: 'midtrans', status: 'pending', currency: 'IDR', amount: 25_000 });
      expect(body.id).toMatch(/^pl_[0-9a-f]{32}$/);
      expect(body.url).toContain('/snap/v4/redirection/');
      expect(body.attempts).toEqual([{ gateway: 'midtrans', outcome: 'success' }]);
      expect(await inspect.midtransStatus(body.id)).toBe('pending');
      const got = await request(pa.url).get(`/payment-links/${body.id}`).expect(200);
      expect(got.body).toMatchObject({ id: body.id, gateway: 'midtrans', status: 'pending', url: body.url });
      await request(pa.url).get('/payment-links/pl_doesnotexist').expect(404);
    });

    it.each([
      ['amount', { amount: 0 }],
      ['amount', { amount: 10.5 }],
      ['amount', { amount: '1000' }],
      ['currency', { currency: 'USD' }],
      ['customer.email', { customer: { name: 'A', email: 'not-an-email' } }],
      ['customer', { customer: undefined }],
      ['orderId', { orderId: '' }],
      ['extra', { extra: true }],
    ])('rejects a bad %s with 400 naming it, without calling a gateway', async (field, patch) => {
      sims.resetCalls();
      const res = await post(linkBody(patch)).expect(400);
      expect(res.body.message).toContain(field);
      expect(sims.calls('midtrans').total).toBe(0);
    });
  });

  describe('one gateway down in turn', () => {
    const modes: Array<[string, FaultSpec, 'safe' | 'unknown']> = [
      ['503', { mode: 'error', status: 503 }, 'safe'],
      ['429', { mode: 'error', status: 429 }, 'safe'],
      ['refuse', { mode: 'refuse' }, 'safe'],
      ['reset', { mode: 'reset' }, 'unknown'],
      ['hang', { mode: 'hang' }, 'unknown'],
    ];
    const cases = GATEWAYS.flatMap((gateway, index) =>
      modes.map(([label, fault, kind]) => [gateway, label, fault, kind, index] as const),
    );

    it.each(cases)(
      '%s %s → the next gateway, exactly one payable link',
      async (gateway, _label, fault, kind, index) => {
        // Every gateway before the one under test answers 503, so the request reaches it.
        for (const earlier of GATEWAYS.slice(0, index))
          await sims.faults.set(earlier, { mode: 'error', status: 503 });
        await sims.faults.set(gateway, fault);
        const body = linkBody();
        const res = await post(body);
        const expected = GATEWAYS[index + 1];
        if (expected === undefined) {
          expect(res.status).toBe(503);
          expect(res.body.message).toBe('all payment gateways failed');
          expect(res.headers['retry-after']).toMatch(/^\d+$/);
          expect(res.body.attempts.map((a: { gateway: string }) => a.gateway)).toEqual(GATEWAYS);
        } else {
          expect(res.status).toBe(201);
          expect(res.body.gateway).toBe(expected);
        }
        const attempt = (res.body.attempts as CreatedBody['attempts'])[index];
        expect(attempt).toMatchObject({ gateway, outcome: 'failure' });
        expect(Boolean(attempt.unknownOutcome)).toBe(kind === 'unknown');
        if (expected !== undefined) {
          expect(await payableGateways(res.body.id)).toEqual([expected]);
        } else {
          const { rows } = await pool.query(
            `select id, status from "${schema}".payment_links where order_id = $1`,
            [body.orderId],
          );
          expect(rows).toEqual([{ id: expect.any(String), status: 'unavailable' }]);
          expect(await payableGateways(rows[0].id)).toEqual([]);
        }
      },
    );
  });

  it('all gateways down → 503 with attempts and Retry-After; the same key succeeds once they heal', async () => {
    for (const gateway of GATEWAYS) await sims.faults.set(gateway, { mode: 'error', status: 503 });
    const body = linkBody();
    const failed = await post(body).expect(503);
    expect(failed.body).toMatchObject({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'all payment gateways failed',
    });
    expect(failed.body.attempts).toEqual(
      GATEWAYS.map((gateway) => expect.objectContaining({ gateway, outcome: 'failure' })),
    );
    expect(Number(failed.headers['retry-after'])).toBeGreaterThan(0);
    await sims.faults.clear();
    const ok = await post(body).expect(201);
    expect(ok.body.gateway).toBe('midtrans');
    expect(await payableGateways(ok.body.id)).toEqual(['midtrans']);
  });

  describe('idempotency', () => {
    it('same key and body → the stored answer, one link at the gateway', async () => {
      sims.resetCalls();
      const body = linkBody();
      const first = await post(body).expect(201);
      const again = await post(body).expect(201);
      expect(again.body).toEqual(first.body);
      const explicit = await post(body, body.orderId as string).expect(201);
      expect(explicit.body.id).toBe(first.body.id);
      expect(sims.calls('midtrans').routes['snap-create'] ?? 0).toBe(1);
    });

    it('same key with a different body → 422', async () => {
      const body = linkBody();
      await post(body, 'key-422-' + body.orderId).expect(201);
      const res = await post({ ...body, amount: 30_000 }, 'key-422-' + body.orderId).expect(422);
      expect(res.body).toMatchObject({ statusCode: 422, error: 'Unprocessable Entity' });
    });

    it('concurrent identical requests → one link (others 409 or the same answer)', async () => {
      sims.resetCalls();
      // A slow gateway keeps the first request in progress while the others arrive.
      await sims.faults.set('midtrans', { mode: 'latency', latencyMs: 60 });
      const body = linkBody();
      const answers = await Promise.all(Array.from({ length: 8 }, () => post(body)));
      const created = answers.filter((res) => res.status === 201);
      expect(created.length).toBeGreaterThanOrEqual(1);
      expect(new Set(created.map((res) => res.body.id)).size).toBe(1);
      expect(answers.every((res) => res.status === 201 || res.status === 409)).toBe(true);
      expect(sims.calls('midtrans').routes['snap-create'] ?? 0).toBe(1);
      const { rows } = await pool.query(
        `select count(*)::int as n from "${schema}".payment_links where order_id = $1`,
        [body.orderId],
      );
      expect(rows[0].n).toBe(1);
    });

    it('rejects a malformed Idempotency-Key', async () => {
      const res = await post(linkBody(), 'bad key with spaces').expect(400);
      expect(res.body.message).toContain('Idempotency-Key');
    });
  });

  describe('webhooks', () => {
    async function linkAt(gateway: GatewayName): Promise<CreatedBody> {
      for (const earlier of GATEWAYS.slice(0, GATEWAYS.indexOf(gateway))) {
        await sims.faults.set(earlier, { mode: 'error', status: 503 });
      }
      const res = await post(linkBody()).expect(201);
      await sims.faults.clear();
      expect(res.body.gateway).toBe(gateway);
      return res.body as CreatedBody;
    }

    it.each(GATEWAYS)(
      '%s: a paid notification marks the link paid; a duplicate changes nothing',
      async (gateway) => {
        const link = await linkAt(gateway);
        const paid = await inspect.payAndGetNotification(gateway, link.id);
        expect(paid.status).toBe(200);
        expect(paid.deliveredStatus).toBe(200);
        expect((await request(pa.url).get(`/payment-links/${link.id}`)).body.status).toBe('paid');
        const headers: Record<string, string> =
          gateway === 'xendit' ? { 'x-callback-token': 'local-xendit-callback-token' } : {};
        await request(pa.url).post(`/webhooks/${gateway}`).set(headers).send(paid.notification).expect(200);
        const after = await request(pa.url).get(`/payment-links/${link.id}`).expect(200);
        expect(after.body.status).toBe('paid');
      },
    );

    it('an expired notification marks a pending link expired', async () => {
      const link = await linkAt('xendit');
      const res = await fetch(`${sims.urls.xendit}/_simulate/expire`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ reference: link.id }),
      });
      expect(res.status).toBe(200);
      expect((await request(pa.url).get(`/payment-links/${link.id}`)).body.status).toBe('expired');
    });

    it('bad signatures and tokens → 401, nothing changes', async () => {
      const link = await linkAt('midtrans');
      const statusCode = '200';
      const gross = '25000.00';
      const forged = {
        order_id: link.id,
        status_code: statusCode,
        gross_amount: gross,
        transaction_status: 'settlement',
        signature_key: createHash('sha512').update(`${link.id}${statusCode}${gross}wrong-key`).digest('hex'),
      };
      await request(pa.url).post('/webhooks/midtrans').send(forged).expect(401);
      await request(pa.url)
        .post('/webhooks/midtrans')
        .send({ ...forged, signature_key: 'short' })
        .expect(401);
      await request(pa.url).post('/webhooks/midtrans').send({}).expect(401);
      await request(pa.url)
        .post('/webhooks/xendit')
        .set('x-callback-token', 'wrong-token')
        .send({ external_id: link.id, status: 'PAID' })
        .expect(401);
      await request(pa.url)
        .post('/webhooks/xendit')
        .send({ external_id: link.id, status: 'PAID' })
        .expect(401);
      await request(pa.url)
        .post('/webhooks/nicepay')
        .send({ tXid: 'x', referenceNo: link.id, amt: '25000', status: '0', merchantToken: 'f'.repeat(64) })
        .expect(401);
      expect((await request(pa.url).get(`/payment-links/${link.id}`)).body.status).toBe('pending');
    });

    it('a verified notification for an unknown reference gets the same 200 as a known one', async () => {
      const reference = 'pl_00000000000000000000000000000000';
      const statusCode = '200';
      const gross = '1000.00';
      const signed = {
        order_id: reference,
        status_code: statusCode,
        gross_amount: gross,
        transaction_status: 'settlement',
        signature_key: createHash('sha512')
          .update(`${reference}${statusCode}${gross}local-midtrans-server-key`)
          .digest('hex'),
      };
      const res = await request(pa.url).post('/webhooks/midtrans').send(signed).expect(200);
      expect(res.body).toEqual({ received: true });
    });
  });

  it('health, breakers and metrics', async () => {
    await request(pa.url).get('/health/live').expect(200, { status: 'ok' });
    const ready = await request(pa.url).get('/health/ready').expect(200);
    expect(ready.body.breakers.map((b: { name: string }) => b.name).sort()).toEqual([
      'payment-midtrans',
      'payment-nicepay',
      'payment-xendit',
    ]);
    const breakers = await request(pa.url).get('/breakers').expect(200);
    expect(breakers.body).toHaveLength(3);
    const metrics = (await request(pa.url).get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/payment_links\{status="pending"\} [1-9]/);
    expect(metrics).toMatch(
      /provider_failovers_total\{group="payment-gateways",from="midtrans",to="xendit"\} [1-9]/,
    );
    expect(metrics).toContain('circuit_breaker_state{name="payment-nicepay"}');
    expect(metrics).toContain('deferred_queue_depth{queue="orphan-expiry-midtrans-outbox"');
  });
});

describe('Payment Processor: an open breaker is skipped without a call', () => {
  const databaseUrl = testDatabaseUrl();
  const schema = createTestSchemaName('payments_breaker');
  let sims: Simulators;
  let pa: PaymentApp;

  beforeAll(async () => {
    ({ sims, pa } = await startPaymentAppWithSimulators({
      databaseUrl,
      schema,
      breakerOverrides: testBreakerOverrides({
        'payment-midtrans': { failureThreshold: 2, timeoutMs: 60_000 },
      }),
    }));
  });

  afterAll(async () => {
    await pa?.close();
    await sims?.stop();
    await dropSchema(databaseUrl, schema);
  });

  it('trips payment-midtrans, then goes straight to Xendit', async () => {
    await sims.faults.set('midtrans', { mode: 'error', status: 503 });
    for (let i = 0; i < 2; i++) await request(pa.url).post('/payment-links').send(linkBody()).expect(201);
    sims.resetCalls();
    const res = await request(pa.url).post('/payment-links').send(linkBody()).expect(201);
    expect(res.body.attempts[0]).toMatchObject({ gateway: 'midtrans', outcome: 'skipped' });
    expect(res.body.gateway).toBe('xendit');
    expect(sims.calls('midtrans').routes['snap-create'] ?? 0).toBe(0);
    const breakers = await request(pa.url).get('/breakers').expect(200);
    expect(breakers.body.find((b: { name: string }) => b.name === 'payment-midtrans').state).toBe('open');
  });
});

describe('Payment Processor: Midtrans creates the link, then its answer is lost (proxy in front of Midtrans)', () => {
  const databaseUrl = testDatabaseUrl();
  const schema = createTestSchemaName('payments_unknown');
  let sims: Simulators;
  let proxy: ResponseDroppingProxy;
  let xenditProxy: ResponseDroppingProxy;
  let pa: PaymentApp;
  let inspect: GatewayInspector;
  let pool: Pool;

  beforeAll(async () => {
    const port = await freePort();
    sims = await startSimulators({
      ports: EPHEMERAL_PORTS,
      paymentWebhookBaseUrl: `http://127.0.0.1:${port}`,
    });
    proxy = new ResponseDroppingProxy(sims.urls.midtrans);
    await proxy.start();
    xenditProxy = new ResponseDroppingProxy(sims.urls.xendit);
    await xenditProxy.start();
    pa = await startPaymentApp({
      databaseUrl,
      schema,
      sims,
      port,
      urls: { midtrans: proxy.url, xendit: xenditProxy.url },
    });
    inspect = new GatewayInspector(sims);
    pool = new Pool({ connectionString: databaseUrl, max: 2 });
  });

  afterEach(async () => {
    proxy.clear();
    xenditProxy.clear();
    await sims.faults.clear();
  });

  afterAll(async () => {
    await pa?.close();
    await proxy?.stop();
    await xenditProxy?.stop();
    await sims?.stop();
    await pool?.end();
    await dropSchema(databaseUrl, schema);
  });

  const post = (body: Record<string, unknown>) => request(pa.url).post('/payment-links').send(body);
  const payableGateways = (id: string): Promise<GatewayName[]> =>
    settledPayableGateways(sims, pa, pool, schema, id);

  describe('unknown outcome', () => {
    it.each(['hang', 'reset'] as const)(
      '%s → the Midtrans link is expired, the link lives at Xendit only',
      async (mode) => {
        proxy.dropAnswers('POST', '/snap/v1/transactions', mode);
        const dropped = proxy.dropped;
        const res = await post(linkBody()).expect(201);
        expect(proxy.dropped).toBe(dropped + 1);
        expect(res.body.gateway).toBe('xendit');
        expect(res.body.attempts[0]).toMatchObject({
          gateway: 'midtrans',
          outcome: 'failure',
          unknownOutcome: true,
        });
        expect(await payableGateways(res.body.id)).toEqual(['xendit']);
        expect(await inspect.midtransStatus(res.body.id)).toBe('expire');
        const metrics = await request(pa.url).get('/metrics').expect(200);
        expect(metrics.text).toMatch(
          /payment_orphan_expiries_total\{gateway="midtrans",outcome="expired"\} [1-9]/,
        );
      },
    );

    it('Xendit creates the invoice, then its answer is lost → found by external_id and used, not duplicated', async () => {
      await sims.faults.set('midtrans', { mode: 'error', status: 503 });
      xenditProxy.dropAnswers('POST', '/v2/invoices', 'hang');
      const res = await post(linkBody()).expect(201);
      expect(res.body.gateway).toBe('xendit');
      expect(res.body.attempts[1]).toMatchObject({
        gateway: 'xendit',
        outcome: 'success',
        unknownOutcome: true,
      });
      expect(res.body.url).toContain('/web/');
      expect(await inspect.xenditInvoices(res.body.id)).toHaveLength(1);
      expect(await payableGateways(res.body.id)).toEqual(['xendit']);
    });

    it('a gateway slower than the deadline: asked, nothing there, the next gateway takes it', async () => {
      await sims.faults.set('midtrans', { mode: 'error', status: 503 });
      // Xendit answers slower than the call timeout; its status API still answers.
      await sims.faults.set('xendit', { mode: 'latency', latencyMs: 400, route: 'create-invoice' });
      const res = await post(linkBody());
      // The simulator drops a request whose client went away, so Xendit holds nothing: move on to Nicepay.
      expect(res.status).toBe(201);
      expect(res.body.attempts[1]).toMatchObject({ gateway: 'xendit', unknownOutcome: true });
      expect(await payableGateways(res.body.id)).toEqual([res.body.gateway]);
    });
  });

  it('a paid notification on a superseded attempt flags the link needs_refund', async () => {
    // Midtrans creates the link but its answer is lost; its expiry keeps failing, so the orphan stays payable.
    proxy.dropAnswers('POST', '/snap/v1/transactions', 'hang');
    await sims.faults.set('midtrans', { mode: 'error', status: 500, route: 'expire' });
    const res = await post(linkBody()).expect(201);
    expect(res.body.gateway).toBe('xendit');
    proxy.clear();
    const paid = await inspect.payAndGetNotification('midtrans', res.body.id);
    expect(paid.status).toBe(200);
    expect(paid.deliveredStatus).toBe(200);
    const link = await request(pa.url).get(`/payment-links/${res.body.id}`).expect(200);
    expect(link.body.status).toBe('needs_refund');
    expect(link.body.attempts[0]).toMatchObject({ gateway: 'midtrans', gatewayStatus: 'paid' });
  });
});
