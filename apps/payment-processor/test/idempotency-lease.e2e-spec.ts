import { Pool } from 'pg';
import request from 'supertest';
import type { Simulators } from '../../downstream-simulators/src/simulators';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../../../test/support/postgres';
import type { PaymentGatewayClient } from '../src/clients/payment-gateway.client';
import { LeaseLostError, PaymentLinksRepository } from '../src/payment-links/payment-links.repository';
import { PAYMENT_GATEWAY_CLIENTS } from '../src/payment.tokens';
import { GatewayInspector } from './support/gateway-inspector';
import {
  eventually,
  startPaymentAppWithSimulators,
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
    ({ sims, pa } = await startPaymentAppWithSimulators({
      databaseUrl,
      schema,
      idempotencyLeaseMs: leaseMs,
      // "Not found" at a gateway is trusted only after this: the slow call below lands late.
      orphanGraceMs: 60_000,
      clock: () => Date.now() + offsetMs,
      // Midtrans answers slowly in one test: a call deadline well above its latency.
      breakerOverrides: testBreakerOverrides({ 'payment-midtrans': { callTimeoutMs: 5000 } }),
    }));
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
    // Long enough that the takeover below always lands while the first call is still out.
    await sims.faults.set('midtrans', { mode: 'latency', latencyMs: 3000 });
    sims.resetCalls();
    const orderId = `ord-lease-${Date.now()}`;
    const body = linkRequest(orderId);
    const post = () => request(pa.url).post('/payment-links').set('Idempotency-Key', orderId).send(body);

    const slow = post().then((res) => res);
    await eventually(async () => (sims.calls('midtrans').routes['snap-create'] ?? 0) >= 1);
    // The slow request's lease runs out while Midtrans is still working on it; Midtrans answers
    // the takeover at once (the slow call keeps its delay).
    offsetMs += leaseMs + 1000;
    await sims.faults.clear();
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
    // The slow call creates it only when its 3 s delay ends; the outbox keeps looking until then.
    await eventually(async () => {
      await pa.outbox.drainOnce();
      return !(await inspect.payable('midtrans', abandoned?.id ?? ''));
    }, 10_000);
    expect(await inspect.payable(takeover.body.gateway, takeover.body.id)).toBe(true);
  });

  it('a 409 for a key in progress carries Retry-After', async () => {
    await sims.faults.set('midtrans', { mode: 'latency', latencyMs: 3000 });
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

/**
 * Nicepay cannot be asked by reference: a link is expired by its tXid. When a takeover abandons a
 * link whose Nicepay registration has not been recorded yet, the orphan is retried through the
 * grace period (the slow request may still record the tXid) and given up loudly only after it.
 */
describe('Payment Processor: a Nicepay orphan whose tXid is not recorded yet', () => {
  const databaseUrl = testDatabaseUrl();
  const schema = createTestSchemaName('payments_lease_np');
  const leaseMs = 10_000;
  const graceMs = 60_000;
  let offsetMs = 0;
  const clock = () => Date.now() + offsetMs;
  let sims: Simulators;
  let pa: PaymentApp;
  let repository: PaymentLinksRepository;
  let nicepay: PaymentGatewayClient;
  let inspect: GatewayInspector;

  beforeAll(async () => {
    ({ sims, pa } = await startPaymentAppWithSimulators({
      databaseUrl,
      schema,
      gateways: ['nicepay'],
      idempotencyLeaseMs: leaseMs,
      orphanGraceMs: graceMs,
      clock,
    }));
    repository = pa.app.get(PaymentLinksRepository);
    const clients = pa.app.get<PaymentGatewayClient[]>(PAYMENT_GATEWAY_CLIENTS);
    nicepay = clients.find((client) => client.gateway === 'nicepay') as PaymentGatewayClient;
    inspect = new GatewayInspector(sims);
  });

  afterAll(async () => {
    await pa?.close();
    await sims?.stop();
    await dropSchema(databaseUrl, schema);
  });

  /** A request that registered at Nicepay and then stalled, and the takeover of its key. */
  async function registeredThenTakenOver(key: string) {
    const link = {
      id: `lnk-np-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
      orderId: key,
      amount: 25_000,
      customer: { name: 'Dewi', email: 'dewi@example.com' },
    };
    await repository.claimKey(key, 'h', link, clock(), leaseMs);
    await repository.startAttempt({ key, linkId: link.id, leaseMs }, 0, 'nicepay', clock());
    const registered = await nicepay.create({ reference: link.id, ...link }, new AbortController().signal);
    offsetMs += leaseMs + 1000;
    const next = { ...link, id: `${link.id}-b` };
    expect(await repository.claimKey(key, 'h', next, clock(), leaseMs)).toEqual({
      kind: 'claimed',
      link: next,
    });
    return { link, tXid: registered.gatewayRef, url: registered.url };
  }

  const entryStatus = async (reference: string) =>
    (await pa.outbox.entries('nicepay')).find((entry) => entry.key === `nicepay:${reference}`)?.status;

  it('is retried while the slow request may still record its tXid, then cancelled by it', async () => {
    const { link, tXid, url } = await registeredThenTakenOver(`np-late-${Date.now()}`);
    const failuresBefore = nicepay.breaker.counts.totalFailures;
    for (let pass = 0; pass < 3; pass++) await pa.outbox.drainOnce();
    // Registering the reference again answers "duplicate" and no tXid: not given up inside the
    // grace, and no failure of Nicepay's breaker (Nicepay answered; the orphan is just not done).
    expect(await entryStatus(link.id)).toBe('pending');
    expect(nicepay.breaker.counts.totalFailures).toBe(failuresBefore);
    expect(await inspect.payable('nicepay', link.id, { tXid, amount: link.amount })).toBe(true);

    // The slow request records what Nicepay answered it (then its answer is fenced off).
    await repository.finishAttempt(
      link.id,
      'nicepay',
      { outcome: 'success', gatewayRef: tXid, url },
      clock(),
    );
    await eventually(async () => {
      await pa.outbox.drainOnce();
      return (await entryStatus(link.id)) === 'replayed';
    });
    expect(await inspect.payable('nicepay', link.id, { tXid, amount: link.amount })).toBe(false);
  });

  it('is given up at once when no request can record its tXid any more (found by resolveUnknown)', async () => {
    const key = `np-orphan-${Date.now()}`;
    const link = {
      id: `lnk-np-${Date.now().toString(36)}-r`,
      orderId: key,
      amount: 25_000,
      customer: { name: 'Dewi', email: 'dewi@example.com' },
    };
    await repository.claimKey(key, 'h', link, clock(), leaseMs);
    await repository.startAttempt({ key, linkId: link.id, leaseMs }, 0, 'nicepay', clock());
    await nicepay.create({ reference: link.id, ...link }, new AbortController().signal);
    // The request itself gave up on the attempt and queued the orphan (attempt row: failure).
    await repository.recordOrphan(
      {
        gateway: 'nicepay',
        reference: link.id,
        gatewayRef: null,
        amount: link.amount,
        orderId: key,
        customer: link.customer,
        reason: 'unknown outcome',
        foundAtMs: clock(),
      },
      'timeout; registered, but its tXid is unknown',
      clock(),
    );
    await pa.outbox.drainOnce();
    expect(await entryStatus(link.id)).toBe('failed');
  });

  it('is given up as unresolvable once the grace period is over', async () => {
    const { link } = await registeredThenTakenOver(`np-lost-${Date.now()}`);
    await pa.outbox.drainOnce();
    expect(await entryStatus(link.id)).toBe('pending');
    offsetMs += graceMs;
    await eventually(async () => {
      await pa.outbox.drainOnce();
      return (await entryStatus(link.id)) === 'failed';
    });
  });
});
