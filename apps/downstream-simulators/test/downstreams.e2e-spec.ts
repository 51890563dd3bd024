import { createHash } from 'node:crypto';
import type { Simulators } from '../src/simulators';
import { basic, call, startEphemeral } from './sim-test.helper';

const JAKARTA_MONAS = { lat: -6.1754, lng: 106.8272 };
const BLOK_M = { lat: -6.2444, lng: 106.8003 };

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('downstream simulators: real API shapes', () => {
  let now = Date.parse('2025-03-03T03:00:00Z'); // 10:00 in Jakarta
  let sims: Simulators;

  beforeAll(async () => {
    sims = await startEphemeral({ clock: () => now, seed: 7 });
  });
  afterAll(() => sims.stop());

  describe('user-service', () => {
    it('answers a deterministic profile for u-… ids', async () => {
      const first = await call(`${sims.urls['user-service']}/users/u-42`);
      const second = await call(`${sims.urls['user-service']}/users/u-42`);
      expect(first.status).toBe(200);
      expect(first.body).toEqual(second.body);
      expect(first.body).toMatchObject({
        id: 'u-42',
        tier: expect.stringMatching(/^(bronze|silver|gold|platinum)$/),
      });
      expect(first.body.phone).toMatch(/^\+628\d{9}$/);
      expect(first.body.email).toMatch(/@/);
      expect(typeof first.body.name).toBe('string');
    });

    it('answers 404 in Nest shape for ids containing "never" and non u- ids', async () => {
      for (const id of ['u-never-1', 'x-1']) {
        const { status, body } = await call(`${sims.urls['user-service']}/users/${id}`);
        expect(status).toBe(404);
        expect(body).toMatchObject({ statusCode: 404, error: 'Not Found' });
      }
    });
  });

  describe('bbd', () => {
    const headers = { 'x-api-key': 'tpg-key' };
    const order = {
      partnerOrderId: 'ord-1',
      pickup: JAKARTA_MONAS,
      dropoff: BLOK_M,
      passenger: { name: 'Ayu' },
    };

    it('rejects calls without X-Api-Key', async () => {
      const { status, body } = await call(`${sims.urls.bbd}/v1/orders`, { method: 'POST', body: order });
      expect(status).toBe(401);
      expect(body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    });

    it('creates an order once per partnerOrderId and lists it once', async () => {
      const created = await call<{ orderId: string; status: string }>(`${sims.urls.bbd}/v1/orders`, {
        method: 'POST',
        body: order,
        headers,
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ partnerOrderId: 'ord-1', status: 'searching', vehicle: null });
      expect(created.body.orderId).toMatch(/^BBD-/);

      const again = await call(`${sims.urls.bbd}/v1/orders`, { method: 'POST', body: order, headers });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ orderId: created.body.orderId });

      const list = await call<{ orders: Array<{ partnerOrderId: string }> }>(`${sims.urls.bbd}/v1/_orders`);
      expect(list.body.orders.filter((o) => o.partnerOrderId === 'ord-1')).toHaveLength(1);
      expect(sims.bbdOrders().filter((o) => o.partnerOrderId === 'ord-1')).toHaveLength(1);

      const fetched = await call(`${sims.urls.bbd}/v1/orders/${created.body.orderId}`, { headers });
      expect(fetched.status).toBe(200);
      expect(fetched.body).toMatchObject({ orderId: created.body.orderId, pickup: JAKARTA_MONAS });
    });

    it('finds orders by partnerOrderId: the order when BBD has one, an empty list when not', async () => {
      const created = await call<{ orderId: string }>(`${sims.urls.bbd}/v1/orders`, {
        method: 'POST',
        body: { ...order, partnerOrderId: 'ord-find' },
        headers,
      });
      type Found = { orders: Array<{ orderId: string; partnerOrderId: string; status: string }> };
      const found = await call<Found>(`${sims.urls.bbd}/v1/orders?partnerOrderId=ord-find`, { headers });
      expect(found.status).toBe(200);
      expect(found.body.orders).toEqual([
        expect.objectContaining({
          orderId: created.body.orderId,
          partnerOrderId: 'ord-find',
          status: 'searching',
        }),
      ]);

      await call(`${sims.urls.bbd}/v1/orders/${created.body.orderId}/cancel`, { method: 'POST', headers });
      const cancelled = await call<Found>(`${sims.urls.bbd}/v1/orders?partnerOrderId=ord-find`, { headers });
      expect(cancelled.body.orders.map((o) => o.status)).toEqual(['cancelled']);

      const none = await call<Found>(`${sims.urls.bbd}/v1/orders?partnerOrderId=ord-unknown`, { headers });
      expect(none).toMatchObject({ status: 200, body: { orders: [] } });

      const missing = await call(`${sims.urls.bbd}/v1/orders`, { headers });
      expect(missing.status).toBe(400);
      expect(missing.body).toMatchObject({ error: { code: 'VALIDATION_ERROR', field: 'partnerOrderId' } });
      expect((await call(`${sims.urls.bbd}/v1/orders?partnerOrderId=ord-find`)).status).toBe(401);
    });

    it('validates the order body naming the field', async () => {
      const { status, body } = await call(`${sims.urls.bbd}/v1/orders`, {
        method: 'POST',
        body: { partnerOrderId: 'ord-bad', pickup: { lat: 200, lng: 0 }, dropoff: BLOK_M },
        headers,
      });
      expect(status).toBe(400);
      expect(body).toMatchObject({ error: { code: 'VALIDATION_ERROR', field: 'pickup' } });
    });

    it('answers 404 for an unknown order', async () => {
      const { status, body } = await call(`${sims.urls.bbd}/v1/orders/BBD-nope`, { headers });
      expect(status).toBe(404);
      expect(body).toMatchObject({ error: { code: 'ORDER_NOT_FOUND' } });
    });

    it('tracks a vehicle moving along pickup → dropoff as the clock advances', async () => {
      const created = await call<{ orderId: string }>(`${sims.urls.bbd}/v1/orders`, {
        method: 'POST',
        body: { partnerOrderId: 'ord-track', pickup: JAKARTA_MONAS, dropoff: BLOK_M },
        headers,
      });
      type Tracking = { status: string; position: { lat: number; lng: number } | null; progress: number };
      const track = async (): Promise<Tracking> =>
        (await call<Tracking>(`${sims.urls.bbd}/v1/orders/${created.body.orderId}/tracking`, { headers }))
          .body;

      expect(await track()).toMatchObject({ status: 'searching', position: null });
      now += 10_000;
      expect((await track()).status).toBe('driver_assigned');
      now += 30_000 + 60_000;
      const moving = await track();
      expect(moving.status).toBe('on_trip');
      expect(moving.progress).toBeGreaterThan(0);
      expect(moving.progress).toBeLessThan(1);
      expect(moving.position?.lat).toBeLessThan(JAKARTA_MONAS.lat);
      expect(moving.position?.lat).toBeGreaterThan(BLOK_M.lat);
      now += 3_600_000;
      const done = await track();
      expect(done).toMatchObject({ status: 'completed', progress: 1, position: BLOK_M });
    });

    it('lists deterministic vacant vehicles within the radius, nearest first', async () => {
      type Vacant = {
        vehicles: Array<{ vehicleId: string; distanceMeters: number; position: { lat: number } }>;
      };
      const url = `${sims.urls.bbd}/v1/vehicles/vacant?lat=${JAKARTA_MONAS.lat}&lng=${JAKARTA_MONAS.lng}&radius=2000`;
      const first = await call<Vacant>(url, { headers });
      const second = await call<Vacant>(url, { headers });
      expect(first.status).toBe(200);
      expect(first.body.vehicles.length).toBeGreaterThan(0);
      expect(first.body).toEqual(second.body);
      const distances = first.body.vehicles.map((v) => v.distanceMeters);
      expect(distances.every((d) => d <= 2000)).toBe(true);
      expect([...distances].sort((a, b) => a - b)).toEqual(distances);

      const wider = await call<Vacant>(url.replace('radius=2000', 'radius=5000'), { headers });
      expect(wider.body.vehicles.length).toBeGreaterThanOrEqual(first.body.vehicles.length);
      const bad = await call(url.replace('radius=2000', 'radius=-1'), { headers });
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ error: { field: 'radius' } });
    });
  });

  describe('midtrans', () => {
    const auth = { authorization: basic('local-midtrans-server-key') };
    const snap = (orderId: string, amount: unknown = 25_000): Record<string, unknown> => ({
      transaction_details: { order_id: orderId, gross_amount: amount },
      customer_details: { first_name: 'Ayu', email: 'ayu@example.com' },
    });

    it('creates a Snap transaction with token and redirect_url', async () => {
      const { status, body } = await call<{ token: string; redirect_url: string }>(
        `${sims.urls.midtrans}/snap/v1/transactions`,
        { method: 'POST', body: snap('pl-1'), headers: auth },
      );
      expect(status).toBe(201);
      expect(body.token).toMatch(/^[0-9a-f-]{36}$/);
      expect(body.redirect_url).toBe(`${sims.urls.midtrans}/snap/v4/redirection/${body.token}`);
    });

    it('rejects a wrong server key with 401', async () => {
      const { status, body } = await call(`${sims.urls.midtrans}/snap/v1/transactions`, {
        method: 'POST',
        body: snap('pl-401'),
        headers: { authorization: basic('wrong') },
      });
      expect(status).toBe(401);
      expect(body).toEqual({
        error_messages: expect.arrayContaining([expect.stringMatching(/unauthorized/)]),
      });
    });

    it('rejects a repeated order_id and a non-integer gross_amount', async () => {
      await call(`${sims.urls.midtrans}/snap/v1/transactions`, {
        method: 'POST',
        body: snap('pl-dup'),
        headers: auth,
      });
      const dup = await call(`${sims.urls.midtrans}/snap/v1/transactions`, {
        method: 'POST',
        body: snap('pl-dup'),
        headers: auth,
      });
      expect(dup.status).toBe(400);
      expect(dup.body).toEqual({ error_messages: ['transaction_details.order_id has already been taken'] });
      const fractional = await call(`${sims.urls.midtrans}/snap/v1/transactions`, {
        method: 'POST',
        body: snap('pl-frac', 10.5),
        headers: auth,
      });
      expect(fractional.status).toBe(400);
      expect(fractional.body).toEqual({ error_messages: [expect.stringContaining('gross_amount')] });
    });

    it('reports status pending, expires, then reports 407', async () => {
      await call(`${sims.urls.midtrans}/snap/v1/transactions`, {
        method: 'POST',
        body: snap('pl-exp'),
        headers: auth,
      });
      const pending = await call(`${sims.urls.midtrans}/v2/pl-exp/status`, { headers: auth });
      expect(pending.status).toBe(200);
      expect(pending.body).toMatchObject({
        status_code: '201',
        transaction_status: 'pending',
        order_id: 'pl-exp',
        gross_amount: '25000.00',
      });
      const expired = await call(`${sims.urls.midtrans}/v2/pl-exp/expire`, { method: 'POST', headers: auth });
      expect(expired.body).toMatchObject({ status_code: '407', transaction_status: 'expire' });
      const after = await call(`${sims.urls.midtrans}/v2/pl-exp/status`, { headers: auth });
      expect(after.body).toMatchObject({ status_code: '407', transaction_status: 'expire' });
      const unknown = await call(`${sims.urls.midtrans}/v2/pl-none/status`, { headers: auth });
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatchObject({ status_code: '404' });
      const noAuth = await call(`${sims.urls.midtrans}/v2/pl-exp/status`);
      expect(noAuth.status).toBe(401);
    });
  });

  describe('xendit', () => {
    const auth = { authorization: basic('local-xendit-secret-key') };
    const invoice = {
      external_id: 'pl-x1',
      amount: 30_000,
      payer_email: 'ayu@example.com',
      description: 'Ride',
    };

    it('creates a PENDING invoice and finds it by external_id', async () => {
      const { status, body } = await call<{ id: string; invoice_url: string }>(
        `${sims.urls.xendit}/v2/invoices`,
        {
          method: 'POST',
          body: invoice,
          headers: auth,
        },
      );
      expect(status).toBe(200);
      expect(body).toMatchObject({
        external_id: 'pl-x1',
        status: 'PENDING',
        amount: 30_000,
        currency: 'IDR',
      });
      expect(body.id).toMatch(/^[0-9a-f]{24}$/);
      expect(body.invoice_url).toBe(`${sims.urls.xendit}/web/${body.id}`);
      expect(body).toHaveProperty('expiry_date');

      const found = await call<unknown[]>(`${sims.urls.xendit}/v2/invoices?external_id=pl-x1`, {
        headers: auth,
      });
      expect(found.body).toEqual([expect.objectContaining({ id: body.id })]);
      const expired = await call(`${sims.urls.xendit}/invoices/${body.id}/expire!`, {
        method: 'POST',
        headers: auth,
      });
      expect(expired.body).toMatchObject({ id: body.id, status: 'EXPIRED' });
    });

    it('rejects a wrong secret key and invalid fields in its own error format', async () => {
      const denied = await call(`${sims.urls.xendit}/v2/invoices`, { method: 'POST', body: invoice });
      expect(denied.status).toBe(401);
      expect(denied.body).toEqual({ error_code: 'INVALID_API_KEY', message: expect.any(String) });
      const invalid = await call(`${sims.urls.xendit}/v2/invoices`, {
        method: 'POST',
        body: { ...invoice, external_id: undefined },
        headers: auth,
      });
      expect(invalid.status).toBe(400);
      expect(invalid.body).toEqual({
        error_code: 'API_VALIDATION_ERROR',
        message: expect.stringContaining('external_id'),
      });
    });

    it('like the real API, creates a second invoice for a repeated external_id', async () => {
      const first = await call<{ id: string }>(`${sims.urls.xendit}/v2/invoices`, {
        method: 'POST',
        body: { ...invoice, external_id: 'pl-x-dup' },
        headers: auth,
      });
      const second = await call<{ id: string }>(`${sims.urls.xendit}/v2/invoices`, {
        method: 'POST',
        body: { ...invoice, external_id: 'pl-x-dup' },
        headers: auth,
      });
      expect(second.body.id).not.toBe(first.body.id);
      const found = await call<unknown[]>(`${sims.urls.xendit}/v2/invoices?external_id=pl-x-dup`, {
        headers: auth,
      });
      expect(found.body).toHaveLength(2);
    });
  });

  describe('nicepay', () => {
    const iMid = 'LOCALIMID01';
    const key = 'local-nicepay-merchant-key';
    const timeStamp = '20250303100000';
    const register = (
      referenceNo: string,
      token?: string,
    ): Promise<{ status: number; body: Record<string, string> }> =>
      call<Record<string, string>>(`${sims.urls.nicepay}/nicepay/redirect/v2/registration`, {
        method: 'POST',
        body: {
          timeStamp,
          iMid,
          payMethod: '00',
          currency: 'IDR',
          amt: '15000',
          referenceNo,
          goodsNm: 'Ride',
          billingNm: 'Ayu',
          billingPhone: '08123456789',
          billingEmail: 'ayu@example.com',
          dbProcessUrl: 'http://127.0.0.1:3002/webhooks/nicepay',
          merchantToken: token ?? sha256(`${timeStamp}${iMid}${referenceNo}15000${key}`),
        },
      });

    it('registers with a valid merchantToken, then inquires and cancels', async () => {
      const { status, body } = await register('pl-n1');
      expect(status).toBe(200);
      expect(body).toMatchObject({ resultCd: '0000', referenceNo: 'pl-n1', amt: '15000' });
      expect(body.tXid).toMatch(/^LOCALIMID01/);
      expect(body.paymentURL).toBe(`${sims.urls.nicepay}/nicepay/redirect/v2/payment`);

      const inquiry = await call(`${sims.urls.nicepay}/nicepay/direct/v2/inquiry`, {
        method: 'POST',
        body: {
          timeStamp,
          iMid,
          tXid: body.tXid,
          referenceNo: 'pl-n1',
          amt: '15000',
          merchantToken: sha256(`${timeStamp}${iMid}pl-n115000${key}`),
        },
      });
      expect(inquiry.body).toMatchObject({ resultCd: '0000', status: '9', tXid: body.tXid });

      const cancel = await call(`${sims.urls.nicepay}/nicepay/direct/v2/cancel`, {
        method: 'POST',
        body: {
          timeStamp,
          iMid,
          tXid: body.tXid,
          amt: '15000',
          payMethod: '00',
          cancelType: '1',
          merchantToken: sha256(`${timeStamp}${iMid}${body.tXid}15000${key}`),
        },
      });
      expect(cancel.body).toMatchObject({ resultCd: '0000', tXid: body.tXid });
    });

    it('answers 9010 for a wrong merchantToken and 9009 for a repeated referenceNo', async () => {
      const wrong = await register('pl-n-wrong', sha256('nonsense'));
      expect(wrong.body).toMatchObject({ resultCd: '9010' });
      expect((await register('pl-n-dup')).body.resultCd).toBe('0000');
      expect((await register('pl-n-dup')).body.resultCd).toBe('9009');
    });
  });

  describe('maps', () => {
    it('google-maps answers a distance matrix in the real shape', async () => {
      const origins = `${JAKARTA_MONAS.lat},${JAKARTA_MONAS.lng}`;
      const destinations = `${BLOK_M.lat},${BLOK_M.lng}|bogus`;
      const { status, body } = await call<{
        status: string;
        rows: Array<{
          elements: Array<{ status: string; distance?: { value: number }; duration?: { value: number } }>;
        }>;
      }>(
        `${sims.urls['google-maps']}/maps/api/distancematrix/json?origins=${origins}&destinations=${destinations}&key=k`,
      );
      expect(status).toBe(200);
      expect(body.status).toBe('OK');
      const [ok, notFound] = body.rows[0].elements;
      expect(ok.status).toBe('OK');
      // great-circle Monas → Blok M is about 8.2 km; the detour factor makes the road longer
      expect(ok.distance?.value).toBeGreaterThan(8_200);
      expect(ok.distance?.value).toBeLessThan(12_000);
      expect(ok.duration?.value).toBeGreaterThan(0);
      expect(notFound.status).toBe('NOT_FOUND');
    });

    it('google-maps denies a request without key', async () => {
      const { status, body } = await call(
        `${sims.urls['google-maps']}/maps/api/distancematrix/json?origins=0,0&destinations=1,1`,
      );
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: 'REQUEST_DENIED', rows: [] });
    });

    it('here answers routes with a summary close to, but not equal to, google-maps', async () => {
      const here = await call<{
        routes: Array<{ sections: Array<{ summary: { length: number; duration: number } }> }>;
      }>(
        `${sims.urls.here}/v8/routes?transportMode=car&origin=${JAKARTA_MONAS.lat},${JAKARTA_MONAS.lng}&destination=${BLOK_M.lat},${BLOK_M.lng}&return=summary&apiKey=k`,
      );
      expect(here.status).toBe(200);
      const summary = here.body.routes[0].sections[0].summary;
      const google = await call<{ rows: Array<{ elements: Array<{ distance: { value: number } }> }> }>(
        `${sims.urls['google-maps']}/maps/api/distancematrix/json?origins=${JAKARTA_MONAS.lat},${JAKARTA_MONAS.lng}&destinations=${BLOK_M.lat},${BLOK_M.lng}&key=k`,
      );
      const googleLength = google.body.rows[0].elements[0].distance.value;
      expect(summary.length).not.toBe(googleLength);
      expect(Math.abs(summary.length - googleLength) / googleLength).toBeLessThan(0.1);
      expect(summary.duration).toBeGreaterThan(0);
    });

    it('durations follow the hour of the clock (rush hour is slower)', async () => {
      const url = `${sims.urls.here}/v8/routes?transportMode=car&origin=${JAKARTA_MONAS.lat},${JAKARTA_MONAS.lng}&destination=${BLOK_M.lat},${BLOK_M.lng}&return=summary&apiKey=k`;
      type Here = { routes: Array<{ sections: Array<{ summary: { duration: number } }> }> };
      const saved = now;
      now = Date.parse('2025-03-03T01:00:00Z'); // 08:00 Jakarta
      const rush = (await call<Here>(url)).body.routes[0].sections[0].summary.duration;
      now = Date.parse('2025-03-03T19:00:00Z'); // 02:00 Jakarta
      const night = (await call<Here>(url)).body.routes[0].sections[0].summary.duration;
      now = saved;
      expect(rush).toBeGreaterThan(night);
    });

    it('here answers 401 without apiKey and 400 for a malformed origin', async () => {
      const denied = await call(`${sims.urls.here}/v8/routes?transportMode=car&origin=0,0&destination=1,1`);
      expect(denied.status).toBe(401);
      const malformed = await call(
        `${sims.urls.here}/v8/routes?transportMode=car&origin=zz&destination=1,1&apiKey=k`,
      );
      expect(malformed.status).toBe(400);
      expect(malformed.body).toMatchObject({
        status: 400,
        title: 'Malformed request',
        cause: expect.stringContaining('origin'),
      });
    });
  });
});

describe('payment links on a wildcard bind', () => {
  const auth = { authorization: `Basic ${Buffer.from('local-midtrans-server-key:').toString('base64')}` };
  const snap = { transaction_details: { order_id: 'pl-public', gross_amount: 10_000 } };

  it.each([
    [undefined, '127.0.0.1'],
    ['pay.localhost', 'pay.localhost'],
  ])('with publicHost %s hands out links on %s, never on 0.0.0.0', async (publicHost, expected) => {
    const sims = await startEphemeral({ host: '0.0.0.0', publicHost });
    try {
      const port = new URL(sims.urls.midtrans).port;
      const res = await fetch(`http://127.0.0.1:${port}/snap/v1/transactions`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(snap),
      });
      const body = (await res.json()) as { redirect_url: string };
      expect(res.status).toBe(201);
      expect(new URL(body.redirect_url).host).toBe(`${expected}:${port}`);
    } finally {
      await sims.stop();
    }
  });
});
