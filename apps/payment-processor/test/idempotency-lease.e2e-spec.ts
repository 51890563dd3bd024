import { Pool } from 'pg';
import request from 'supertest';
import {
  startSimulators,
  type Simulators,
  EPHEMERAL_PORTS,
} from '../../downstream-simulators/src/simulators';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../../../test/support/postgres';
import { LeaseLostError, PaymentLinksRepository } from '../src/payment-links/payment-links.repository';
import { GatewayInspector } from './support/gateway-inspector';
import {
  eventually,
  freePort,
  startPaymentApp,
  testBreakerOverrides,
  type PaymentApp,
} from './support/payment-test-app';

/**
 * An Idempotency-Key is held under a lease so a crashed request's key can be taken over. A request
 * that is merely slow must then be fenced off: no new gateway attempt and no stored or returned
 * answer for a link that was taken over, so one key never leaves two live links.
 */
describe('Payment Processor: the Idempotency-Key lease fences a request that outlived it', () => {
  const databaseUrl = testDatabaseUrl();
  const schema = createTestSchemaName('payments_lease');
  const leaseMs = 10_000;
  /** The app's clock runs `offsetMs` ahead of real time; a test moves it to run a lease out. */
  let offsetMs = 0;
  let sims: Simulators;
  let pa: PaymentApp;
  let pool: Pool;
  let repository: PaymentLinksRepository;
  let seq = 0;

  const newLink = (orderId: string) => {
    seq += 1;
    return {
      id: `lnk-lease-${Date.now().toString(36)}-${seq}`,
      orderId,
      amount: 25_000,
      customer: { name: 'Dewi', email: 'dewi@example.com' },
    };
  };

  /** A POST /payment-links body; its Idempotency-Key defaults to the orderId. */
  const linkRequest = (orderId: string) => ({
    orderId,
    amount: 25_000,
    currency: 'IDR',
    customer: { name: 'Dewi', email: 'dewi@example.com' },
  });

  const attemptsOf = async (linkId: string): Promise<string[]> => {
    const { rows } = await pool.query<{ gateway: string }>(
      `select gateway from "${schema}".payment_attempts where link_id = $1 order by seq`,
      [linkId],
    );
    return rows.map((row) => row.gateway);
  };

  const keyRow = async (key: string) =>
    (
      await pool.query<{ state: string; link_id: string }>(
        `select state, link_id from "${schema}".idempotency_keys where key = $1`,
        [key],
      )
    ).rows[0];

  beforeAll(async () => {
    const port = await freePort();
    sims = await startSimulators({
      ports: EPHEMERAL_PORTS,
      paymentWebhookBaseUrl: `http://127.0.0.1:${port}`,
    });
    pa = await startPaymentApp({
      databaseUrl,
      schema,
      sims,
      port,
      idempotencyLeaseMs: leaseMs,
      clock: () => Date.now() + offsetMs,
      // Midtrans answers slowly in one test: a call deadline well above its latency.
      breakerOverrides: testBreakerOverrides({ 'payment-midtrans': { callTimeoutMs: 5000 } }),
    });
    repository = pa.app.get(PaymentLinksRepository);
    pool = new Pool({ connectionString: databaseUrl, max: 2 });
  });

  afterEach(async () => {
    offsetMs = 0;
    await sims.faults.clear();
  });

  afterAll(async () => {
    await pa?.close();
    await sims?.stop();
    await pool?.end();
    await dropSchema(databaseUrl, schema);
  });

  it('starting an attempt renews the lease: a live request keeps its key', async () => {
    const t0 = Date.now();
    const key = `renew-${t0}`;
    const link = newLink(key);
    expect(await repository.claimKey(key, 'h', link, t0, leaseMs)).toEqual({ kind: 'claimed', link });
    // Just before the lease would end, the request starts a gateway attempt.
    await repository.startAttempt({ key, linkId: link.id, leaseMs }, 0, 'midtrans', t0 + leaseMs - 1);
    // Past the first lease, a repeat finds the key still in progress: no takeover.
    expect(await repository.claimKey(key, 'h', newLink(key), t0 + leaseMs + 1, leaseMs)).toEqual({
      kind: 'in_progress',
    });
    expect(await keyRow(key)).toEqual({ state: 'in_progress', link_id: link.id });
  });

  it('after a takeover the old request can start no attempt and store no answer', async () => {
    const t0 = Date.now();
    const key = `fenced-${t0}`;
    const first = newLink(key);
    await repository.claimKey(key, 'h', first, t0, leaseMs);
    await repository.startAttempt({ key, linkId: first.id, leaseMs }, 0, 'midtrans', t0);

    const second = newLink(key);
    expect(await repository.claimKey(key, 'h', second, t0 + leaseMs + 1, leaseMs)).toEqual({
      kind: 'claimed',
      link: second,
    });

    await expect(
      repository.startAttempt({ key, linkId: first.id, leaseMs }, 1, 'xendit', t0 + leaseMs + 2),
    ).rejects.toBeInstanceOf(LeaseLostError);
    expect(await attemptsOf(first.id)).toEqual(['midtrans']);
    const winner = { gateway: 'midtrans' as const, gatewayRef: 'ref-1', url: 'https://pay.example/1' };
    await expect(
      repository.complete(key, first.id, winner, [], { id: first.id }, t0 + leaseMs + 3),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await expect(
      repository.fail(key, first.id, [], { id: first.id }, t0 + leaseMs + 3),
    ).rejects.toBeInstanceOf(LeaseLostError);
    // The key belongs to the request that took it over; the old link is abandoned, its attempt queued for expiry.
    expect(await keyRow(key)).toEqual({ state: 'in_progress', link_id: second.id });
    const { rows } = await pool.query<{ id: string; status: string }>(
      `select id, status from "${schema}".payment_links where order_id = $1 order by created_at`,
      [key],
    );
    expect(rows).toEqual([
      { id: first.id, status: 'unavailable' },
      { id: second.id, status: 'creating' },
    ]);
    const queued = await pool.query(
      `select count(*)::int as n from "${schema}".deferred_queue_entries where key like $1`,
      [`%:${first.id}`],
    );
    expect(queued.rows[0].n).toBe(1);
  });

  it('a slow request taken over answers 409 + Retry-After, not 201; one link stays payable', async () => {
    const inspect = new GatewayInspector(sims);
    await sims.faults.set('midtrans', { mode: 'latency', latencyMs: 600 });
    sims.resetCalls();
    const orderId = `ord-lease-${Date.now()}`;
    const body = linkRequest(orderId);
    const post = () => request(pa.url).post('/payment-links').set('Idempotency-Key', orderId).send(body);

    const slow = post().then((res) => res);
    await eventually(async () => (sims.calls('midtrans').routes['snap-create'] ?? 0) >= 1);
    // The slow request's lease runs out while Midtrans is still working on it.
    offsetMs += leaseMs + 1000;
    const takeover = await post();
    const slowAnswer = await slow;

    expect(takeover.status).toBe(201);
    expect(slowAnswer.status).toBe(409);
    expect(slowAnswer.headers['retry-after']).toBe('1');
    expect(slowAnswer.body).toMatchObject({ statusCode: 409, error: 'Conflict' });
    // A repeat gets the stored answer of the request that holds the key.
    const repeat = await post().expect(201);
    expect(repeat.body).toEqual(takeover.body);

    const { rows } = await pool.query<{ id: string; status: string }>(
      `select id, status from "${schema}".payment_links where order_id = $1`,
      [orderId],
    );
    const abandoned = rows.find((row) => row.id !== takeover.body.id);
    expect(abandoned?.status).toBe('unavailable');
    await sims.faults.clear();
    // The abandoned link was created at Midtrans too: the outbox expires it there.
    await eventually(async () => {
      await pa.outbox.drainOnce();
      return !(await inspect.payable('midtrans', abandoned?.id ?? ''));
    });
    expect(await inspect.payable(takeover.body.gateway, takeover.body.id)).toBe(true);
  });

  it('a 409 for a key in progress carries Retry-After', async () => {
    await sims.faults.set('midtrans', { mode: 'latency', latencyMs: 300 });
    const orderId = `ord-busy-${Date.now()}`;
    const body = linkRequest(orderId);
    const first = request(pa.url)
      .post('/payment-links')
      .send(body)
      .then((res) => res);
    await eventually(async () => (await keyRow(orderId)) !== undefined);
    const busy = await request(pa.url).post('/payment-links').send(body).expect(409);
    expect(busy.headers['retry-after']).toBe('1');
    expect((await first).status).toBe(201);
  });
});
