import type { Simulators } from '../src/simulators';
import { call, rawRequest, startEphemeral } from './sim-test.helper';

describe('fault injection through the control API', () => {
  let sims: Simulators;
  const bbdHeaders = { 'x-api-key': 'k' };
  const putFault = (
    downstream: string,
    body: unknown,
  ): Promise<{ status: number; body: Record<string, unknown> }> =>
    call(`${sims.controlUrl}/faults/${downstream}`, { method: 'PUT', body });

  beforeEach(async () => {
    sims = await startEphemeral();
  });
  afterEach(() => sims.stop());

  it('error: answers the status in the provider own format, then heals', async () => {
    expect((await putFault('xendit', { mode: 'error', status: 429 })).status).toBe(200);
    const limited = await rawRequest(`${sims.urls.xendit}/v2/invoices?external_id=x`);
    expect(limited).toMatchObject({
      kind: 'response',
      status: 429,
      body: { error_code: 'RATE_LIMIT_EXCEEDED' },
    });

    await putFault('bbd', { mode: 'error' });
    expect(await rawRequest(`${sims.urls.bbd}/v1/orders/x`, { headers: bbdHeaders })).toMatchObject({
      status: 503,
      body: { error: { code: 'SERVICE_UNAVAILABLE' } },
    });
    await putFault('midtrans', { mode: 'error', status: 500 });
    expect(
      await rawRequest(`${sims.urls.midtrans}/snap/v1/transactions`, { method: 'POST', body: {} }),
    ).toMatchObject({
      status: 500,
      body: { error_messages: [expect.any(String)] },
    });
    await putFault('google-maps', { mode: 'error', status: 429 });
    expect(await rawRequest(`${sims.urls['google-maps']}/maps/api/distancematrix/json?key=k`)).toMatchObject({
      status: 200,
      body: { status: 'OVER_QUERY_LIMIT' },
    });

    expect((await call(`${sims.controlUrl}/faults/bbd`, { method: 'DELETE' })).status).toBe(200);
    expect(await rawRequest(`${sims.urls.bbd}/v1/orders/x`, { headers: bbdHeaders })).toMatchObject({
      status: 404,
    });
    expect((await call(`${sims.controlUrl}/faults`, { method: 'DELETE' })).status).toBe(200);
    expect(await rawRequest(`${sims.urls.xendit}/v2/invoices?external_id=x`)).toMatchObject({ status: 401 });
  });

  it('latency: delays the normal answer by at least latencyMs', async () => {
    await putFault('user-service', { mode: 'latency', latencyMs: 60 });
    const slow = await rawRequest(`${sims.urls['user-service']}/users/u-1`);
    expect(slow).toMatchObject({ kind: 'response', status: 200, body: { id: 'u-1' } });
    expect(slow.elapsedMs).toBeGreaterThanOrEqual(55);
  });

  it('hang: the request never completes, and stop() still ends promptly', async () => {
    await putFault('bbd', { mode: 'hang', route: 'create-order' });
    const outcome = rawRequest(`${sims.urls.bbd}/v1/orders`, {
      method: 'POST',
      body: { partnerOrderId: 'o' },
      headers: bbdHeaders,
      timeoutMs: 80,
    });
    expect(await outcome).toMatchObject({ kind: 'error', code: 'CLIENT_TIMEOUT' });

    const pending = rawRequest(`${sims.urls.bbd}/v1/orders`, {
      method: 'POST',
      body: {},
      headers: bbdHeaders,
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    await sims.stop();
    // The hung socket was destroyed by stop(): the client sees a reset instead of waiting forever.
    expect(await pending).toMatchObject({ kind: 'error', code: 'ECONNRESET' });
  });

  it('reset: the client sees ECONNRESET', async () => {
    await putFault('nicepay', { mode: 'reset' });
    const outcome = await rawRequest(`${sims.urls.nicepay}/nicepay/redirect/v2/registration`, {
      method: 'POST',
      body: { referenceNo: 'r' },
    });
    expect(outcome).toMatchObject({ kind: 'error', code: 'ECONNRESET' });
  });

  it('refuse: new connections get ECONNREFUSED until healed, on the same port', async () => {
    const keepAlive = await fetch(`${sims.urls.here}/v8/routes`);
    expect(keepAlive.status).toBe(401);
    await putFault('here', { mode: 'refuse' });
    expect(await rawRequest(`${sims.urls.here}/v8/routes`)).toMatchObject({
      kind: 'error',
      code: 'ECONNREFUSED',
    });
    await expect(fetch(`${sims.urls.here}/v8/routes`)).rejects.toThrow();
    const listed = await call<{ faults: Array<{ downstream: string; mode: string }> }>(
      `${sims.controlUrl}/faults`,
    );
    expect(listed.body.faults).toEqual([expect.objectContaining({ downstream: 'here', mode: 'refuse' })]);

    await call(`${sims.controlUrl}/faults/here`, { method: 'DELETE' });
    expect(await rawRequest(`${sims.urls.here}/v8/routes`)).toMatchObject({ kind: 'response', status: 401 });
  });

  it('flaky: fails about failureRate of requests, deterministically for a seed', async () => {
    const run = async (): Promise<number[]> => {
      await putFault('user-service', { mode: 'flaky', failureRate: 0.5, status: 502 });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) {
        const outcome = await rawRequest(`${sims.urls['user-service']}/users/u-${i}`);
        statuses.push(outcome.kind === 'response' ? outcome.status : -1);
      }
      return statuses;
    };
    const first = await run();
    const failures = first.filter((s) => s === 502).length;
    expect(first.every((s) => s === 200 || s === 502)).toBe(true);
    expect(failures).toBeGreaterThan(8);
    expect(failures).toBeLessThan(32);

    await sims.stop();
    sims = await startEphemeral();
    expect(await run()).toEqual(first);
  });

  it('route-scoped faults hit only their route; path prefixes work too', async () => {
    await putFault('bbd', { mode: 'error', status: 500, route: 'vacant-vehicles' });
    expect(
      await rawRequest(`${sims.urls.bbd}/v1/vehicles/vacant?lat=0&lng=0`, { headers: bbdHeaders }),
    ).toMatchObject({
      status: 500,
      body: { error: { code: 'INTERNAL_ERROR' } },
    });
    expect(await rawRequest(`${sims.urls.bbd}/v1/orders/none`, { headers: bbdHeaders })).toMatchObject({
      status: 404,
    });

    await putFault('midtrans', { mode: 'error', status: 503, route: '/v2/' });
    expect(await rawRequest(`${sims.urls.midtrans}/v2/any/status`)).toMatchObject({
      status: 503,
      body: { status_code: '503' },
    });
    expect(
      await rawRequest(`${sims.urls.midtrans}/snap/v1/transactions`, { method: 'POST', body: {} }),
    ).toMatchObject({
      status: 401,
    });
  });

  it('faults and counts the BBD partner-id lookup as find-orders, apart from create-order', async () => {
    await putFault('bbd', { mode: 'error', status: 503, route: 'find-orders' });
    expect(
      await rawRequest(`${sims.urls.bbd}/v1/orders?partnerOrderId=p-1`, { headers: bbdHeaders }),
    ).toMatchObject({ status: 503, body: { error: { code: 'SERVICE_UNAVAILABLE' } } });
    expect(
      await rawRequest(`${sims.urls.bbd}/v1/orders`, {
        method: 'POST',
        body: { partnerOrderId: 'p-1', pickup: { lat: 0, lng: 0 }, dropoff: { lat: 0, lng: 0.01 } },
        headers: bbdHeaders,
      }),
    ).toMatchObject({ status: 201 });
    expect(sims.calls('bbd').routes).toEqual({ 'find-orders': 1, 'create-order': 1 });
  });

  it('validates fault bodies naming the field and 404s unknown downstreams', async () => {
    const cases: Array<[unknown, string]> = [
      [{ mode: 'explode' }, 'mode'],
      [{ mode: 'latency' }, 'latencyMs'],
      [{ mode: 'flaky', failureRate: 2 }, 'failureRate'],
      [{ mode: 'error', status: 'x' }, 'status'],
      [{ mode: 'error', route: 'nope' }, 'route'],
      [{ mode: 'refuse', route: 'create-order' }, 'route'],
      [{ mode: 'error', colour: 'red' }, 'colour'],
    ];
    for (const [body, field] of cases) {
      const response = await putFault('bbd', body);
      expect(response.status).toBe(400);
      expect(response.body).toMatchObject({
        statusCode: 400,
        field,
        message: expect.stringContaining(field),
      });
    }
    const malformed = await fetch(`${sims.controlUrl}/faults/bbd`, { method: 'PUT', body: '{oops' });
    expect(malformed.status).toBe(400);
    expect((await putFault('postgres', { mode: 'error' })).status).toBe(404);
    expect((await call(`${sims.controlUrl}/calls/postgres`)).status).toBe(404);
    expect(sims.faults.list()).toEqual([]);
  });

  it('counts calls per route (faulted ones too, simulator-only routes not) and resets them', async () => {
    await rawRequest(`${sims.urls.bbd}/v1/orders/a`, { headers: bbdHeaders });
    await rawRequest(`${sims.urls.bbd}/v1/orders/b`, { headers: bbdHeaders });
    await rawRequest(`${sims.urls.bbd}/v1/_orders`);
    await putFault('bbd', { mode: 'error', route: 'create-order' });
    await rawRequest(`${sims.urls.bbd}/v1/orders`, { method: 'POST', body: {}, headers: bbdHeaders });
    await rawRequest(`${sims.urls.bbd}/nowhere`);

    const counts = await call(`${sims.controlUrl}/calls/bbd`);
    expect(counts.body).toEqual({
      downstream: 'bbd',
      total: 4,
      routes: { 'get-order': 2, 'create-order': 1, unmatched: 1 },
    });
    expect(sims.calls('here').total).toBe(0);

    await call(`${sims.controlUrl}/calls`, { method: 'DELETE' });
    expect(sims.calls('bbd')).toEqual({ downstream: 'bbd', total: 0, routes: {} });
  });

  it('programmatic faults work like the control API', async () => {
    await sims.faults.set('user-service', { mode: 'error', status: 504 });
    expect(await rawRequest(`${sims.urls['user-service']}/users/u-1`)).toMatchObject({
      status: 504,
      body: { statusCode: 504, error: 'Gateway Timeout' },
    });
    expect(sims.faults.list()).toEqual([
      expect.objectContaining({ downstream: 'user-service', mode: 'error', status: 504 }),
    ]);
    await sims.faults.clear('user-service');
    expect(await rawRequest(`${sims.urls['user-service']}/users/u-1`)).toMatchObject({ status: 200 });
  });
});
