import type { LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureServiceApp } from '@app/service-kit';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { AppModule as PaymentAppModule } from '../../apps/payment-processor/src/app.module';
import { loadPaymentProcessorConfig } from '../../apps/payment-processor/src/config/payment-processor.config';
import { freePort } from '../../apps/payment-processor/test/support/payment-test-app';
import { loadTpgConfig } from '../../apps/taxi-partner-gateway/src/config/tpg.config';
import {
  call,
  dispatchBody,
  OPERATOR_TOKEN,
  startOrchestratorStub,
  startTpg,
  waitFor,
} from '../../apps/taxi-partner-gateway/test/support/tpg-harness';
import { createTestSchemaName, dropSchema, testDatabaseUrl } from '../support/postgres';
import { sendJson } from './support/load';
import { startNeighbourStub, startOrchestratorApp, startSessionManagerApp } from './support/orchestrator';
import { startEphemeralSimulators } from './support/services';

/** Captures every line any Nest logger writes, to search it for secrets. */
class CapturingLogger implements LoggerService {
  readonly lines: string[] = [];
  private push(level: string, parts: unknown[]): void {
    this.lines.push(
      `${level} ${parts.map((p) => (p instanceof Error ? `${p.message} ${p.stack}` : typeof p === 'string' ? p : JSON.stringify(p))).join(' ')}`,
    );
  }
  log(...parts: unknown[]): void {
    this.push('log', parts);
  }
  error(...parts: unknown[]): void {
    this.push('error', parts);
  }
  warn(...parts: unknown[]): void {
    this.push('warn', parts);
  }
  debug(...parts: unknown[]): void {
    this.push('debug', parts);
  }
  verbose(...parts: unknown[]): void {
    this.push('verbose', parts);
  }
}

describe('operator endpoints (TPG)', () => {
  it('refuses to start in production without a configured, non-default token', () => {
    expect(() => loadTpgConfig({ NODE_ENV: 'production', BBD_API_KEY: 'k'.repeat(16) })).toThrow(
      /OPERATOR_API_TOKEN/,
    );
    expect(() =>
      loadTpgConfig({
        NODE_ENV: 'production',
        BBD_API_KEY: 'k'.repeat(16),
        OPERATOR_API_TOKEN: 'local-operator-token',
      }),
    ).toThrow(/OPERATOR_API_TOKEN/);
    expect(() =>
      loadTpgConfig({
        NODE_ENV: 'production',
        BBD_API_KEY: 'k'.repeat(16),
        OPERATOR_API_TOKEN: 'a-real-operator-token',
      }),
    ).not.toThrow();
  });

  it('token required, rate limited, and every claim, release and completion audited with the operator', async () => {
    const sims = await startEphemeralSimulators();
    const orchestrator = await startOrchestratorStub();
    const tpg = await startTpg({
      bbdUrl: sims.urls.bbd,
      orderOrchestratorUrl: orchestrator.url,
      operatorRateLimit: { limit: 12, ttlMs: 60_000 },
      // The replayer would take the pending entry back to BBD; operators get it here.
      replayPollMs: 600_000,
    });
    try {
      const op = { authorization: `Bearer ${OPERATOR_TOKEN}` };
      // Same length as the real token, one character off; and a prefix of it: both 401.
      const wrong = `${OPERATOR_TOKEN.slice(0, -1)}x`;
      for (const header of [`Bearer ${wrong}`, `Bearer ${OPERATOR_TOKEN.slice(0, 4)}`, OPERATOR_TOKEN, '']) {
        const res = await call(
          'GET',
          `${tpg.url}/manual-dispatch`,
          undefined,
          header ? { authorization: header } : {},
        );
        expect(res.status).toBe(401);
        expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
      }

      await sims.faults.set('bbd', { mode: 'error', status: 500 });
      const queued = await call<{ status: string }>('POST', `${tpg.url}/dispatches`, dispatchBody('audit'));
      expect(queued.status).toBe(202);
      const list = await call<{ items: Array<{ id: string }> }>(
        'GET',
        `${tpg.url}/manual-dispatch?status=pending`,
        undefined,
        op,
      );
      const id = list.body.items[0].id;
      expect(
        (await call('POST', `${tpg.url}/manual-dispatch/${id}/claim`, { operator: 'ana' }, op)).status,
      ).toBe(200);
      expect(
        (await call('POST', `${tpg.url}/manual-dispatch/${id}/claim`, { operator: 'budi' }, op)).status,
      ).toBe(409);
      expect(
        (await call('POST', `${tpg.url}/manual-dispatch/${id}/release`, { operator: 'ana' }, op)).status,
      ).toBe(200);
      expect(
        (await call('POST', `${tpg.url}/manual-dispatch/${id}/claim`, { operator: 'budi' }, op)).status,
      ).toBe(200);
      const done = await call(
        'POST',
        `${tpg.url}/manual-dispatch/${id}/complete`,
        { vehicleId: 'B 1 XY', operator: 'budi' },
        op,
      );
      expect(done.status).toBe(200);
      const audit = await call<{ items: Array<{ from: string | null; to: string; actor: string }> }>(
        'GET',
        `${tpg.url}/manual-dispatch/${id}/events`,
        undefined,
        op,
      );
      expect(audit.body.items.map(({ from, to, actor }) => `${from}→${to} by ${actor}`)).toEqual([
        'null→pending by system',
        'pending→claimed by ana',
        'claimed→pending by ana',
        'pending→claimed by budi',
        'claimed→completed by budi',
      ]);
      // 11 operator calls so far (the refused ones count), limit 12 a minute: the 13th gets 429, token or not.
      const answers: number[] = [];
      for (let i = 0; i < 5; i++)
        answers.push((await call('GET', `${tpg.url}/manual-dispatch`, undefined, op)).status);
      expect(answers).toEqual([200, 429, 429, 429, 429]);
      const limited = await call('GET', `${tpg.url}/manual-dispatch`, undefined, {
        authorization: 'Bearer nope-nope-nope',
      });
      expect(limited.status).toBe(429);
      expect(limited.body).toMatchObject({ statusCode: 429 });
      // Dispatch endpoints are not operator endpoints: not limited.
      expect((await call('GET', `${tpg.url}/dispatches/unknown`)).status).toBe(404);
      await waitFor('orchestrator told driver_assigned', () =>
        orchestrator.events.some((e) => e.status === 'driver_assigned'),
      );
    } finally {
      await tpg.close();
      await orchestrator.close();
      await sims.stop();
    }
  }, 30_000);
});

describe('payment webhooks and secrets (real secrets, captured logs)', () => {
  const secrets = {
    midtrans: `mid-${randomBytes(12).toString('hex')}`,
    xenditSecret: `xsk-${randomBytes(12).toString('hex')}`,
    xenditToken: `xcb-${randomBytes(12).toString('hex')}`,
    nicepayKey: `npk-${randomBytes(12).toString('hex')}`,
    iMid: `IMID${randomBytes(4).toString('hex')}`,
  };

  it('signature checked first, replays change nothing, unknown references look like known ones, no secret in answers or logs', async () => {
    const port = await freePort();
    const sims = await startEphemeralSimulators(`http://127.0.0.1:${port}`, {
      midtransServerKey: secrets.midtrans,
      xenditSecretKey: secrets.xenditSecret,
      xenditCallbackToken: secrets.xenditToken,
      nicepayMerchantKey: secrets.nicepayKey,
      nicepayImid: secrets.iMid,
    });
    const schema = createTestSchemaName('pp_sec');
    const logger = new CapturingLogger();
    const answers: string[] = [];
    const config = {
      ...loadPaymentProcessorConfig({
        MIDTRANS_SERVER_KEY: secrets.midtrans,
        XENDIT_SECRET_KEY: secrets.xenditSecret,
        XENDIT_CALLBACK_TOKEN: secrets.xenditToken,
        NICEPAY_MERCHANT_KEY: secrets.nicepayKey,
        NICEPAY_IMID: secrets.iMid,
        MIDTRANS_URL: sims.urls.midtrans,
        XENDIT_URL: sims.urls.xendit,
        NICEPAY_URL: sims.urls.nicepay,
      }),
      port,
      databaseUrl: testDatabaseUrl(),
      databaseSchema: schema,
      orphanReplayIntervalMs: 50,
    };
    const moduleRef = await Test.createTestingModule({ imports: [PaymentAppModule.register(config)] })
      .setLogger(logger)
      .compile();
    const app = moduleRef.createNestApplication({ bodyParser: false, logger });
    configureServiceApp(app);
    await app.listen(port, '127.0.0.1');
    const url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    const send = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await call<Record<string, unknown>>(method, `${url}${path}`, body, headers);
      answers.push(JSON.stringify(res.body), JSON.stringify([...res.headers]));
      return res;
    };
    try {
      const link = await send('POST', '/payment-links', {
        orderId: 'sec-1',
        amount: 10_000,
        currency: 'IDR',
        customer: { name: 'Rina', email: 'rina@example.com' },
      });

      expect(link.status).toBe(201);
      const linkId = String(link.body.id);
      const midtrans = (orderId: string, key: string, status = 'settlement') => ({
        order_id: orderId,
        status_code: '200',
        gross_amount: '10000.00',
        transaction_status: status,
        signature_key: createHash('sha512').update(`${orderId}200${'10000.00'}${key}`).digest('hex'),
      });
      // Bad signature: 401 whether or not the reference exists, same body.
      const badKnown = await send('POST', '/webhooks/midtrans', midtrans(linkId, 'wrong-key'));
      const badUnknown = await send('POST', '/webhooks/midtrans', midtrans('no-such-link', 'wrong-key'));
      expect([badKnown.status, badUnknown.status]).toEqual([401, 401]);
      expect(badKnown.body).toEqual(badUnknown.body);
      // Xendit: the token header is checked before the body is looked at (an empty body → 401, not 400).
      expect((await send('POST', '/webhooks/xendit', {}, { 'x-callback-token': 'nope' })).status).toBe(401);
      // Verified: known and unknown references get the same answer.
      const paid = await send('POST', '/webhooks/midtrans', midtrans(linkId, secrets.midtrans));
      const unknown = await send('POST', '/webhooks/midtrans', midtrans('no-such-link', secrets.midtrans));
      expect([paid.status, unknown.status]).toEqual([200, 200]);
      expect(paid.body).toEqual(unknown.body);
      const afterFirst = await send('GET', `/payment-links/${linkId}`);
      expect(afterFirst.body.status).toBe('paid');
      // Replays (the same paid one, and a stale "pending" one) change nothing.
      await send('POST', '/webhooks/midtrans', midtrans(linkId, secrets.midtrans));
      await send('POST', '/webhooks/midtrans', midtrans(linkId, secrets.midtrans, 'pending'));
      const afterReplay = await send('GET', `/payment-links/${linkId}`);
      expect(afterReplay.body).toEqual(afterFirst.body);
      // An unexpected error path: a 404 and a malformed body.
      await send('GET', '/payment-links/nothing-here');
      await send('POST', '/webhooks/nicepay', {
        tXid: 'x',
        amt: '1',
        referenceNo: linkId,
        merchantToken: 'f'.repeat(64),
      });
    } finally {
      await app.close();
      await dropSchema(testDatabaseUrl(), schema);
      await sims.stop();
    }
    const everything = [...logger.lines, ...answers].join('\n');
    expect(logger.lines.length).toBeGreaterThan(3);
    for (const [name, secret] of Object.entries(secrets)) {
      if (everything.includes(secret))
        throw new Error(
          `secret ${name} appears in: ${everything.split('\n').find((line) => line.includes(secret))}`,
        );
    }
    expect(answers.join('\n')).not.toMatch(/\bat [\w.<>]+ \(|\.ts:\d+/);
  }, 30_000);
});

describe('session manager and order orchestrator: secrets never in logs or answers', () => {
  it('map API keys, the database password and the alert webhook token stay out of logs and answers', async () => {
    const secrets = {
      google: `gk-${randomBytes(12).toString('hex')}`,
      here: `hk-${randomBytes(12).toString('hex')}`,
      dbPassword: `pw${randomBytes(12).toString('hex')}`,
      alertToken: `at-${randomBytes(12).toString('hex')}`,
    };
    const logger = new CapturingLogger();
    const answers: string[] = [];
    const sims = await startEphemeralSimulators(undefined, {
      googleMapsApiKey: secrets.google,
      hereApiKey: secrets.here,
    });
    const neighbours = await startNeighbourStub();
    const sm = await startSessionManagerApp({
      sims,
      env: { GOOGLE_MAPS_API_KEY: secrets.google, HERE_API_KEY: secrets.here },
      logger,
    });
    const schema = createTestSchemaName('orch_sec');
    const dbUrl = new URL(testDatabaseUrl());
    dbUrl.password = secrets.dbPassword; // trust auth: accepted and never needed
    const orchestrator = await startOrchestratorApp({
      databaseUrl: dbUrl.toString(),
      schema,
      userServiceUrl: sims.urls['user-service'],
      sessionManagerUrl: sm.url,
      tpgUrl: neighbours.url,
      paymentProcessorUrl: neighbours.url,
      // Unreachable on purpose: the alerter's failure is logged, and the token in its path must not be.
      env: { ALERT_WEBHOOK_URL: `http://127.0.0.1:9/hooks/${secrets.alertToken}` },
      logger,
    });
    const send = async (method: string, url: string, body?: unknown) => {
      const res = await sendJson('sec', method, url, body);
      answers.push(JSON.stringify(res.body));
      return res;
    };
    try {
      const trip = { pickup: { lat: -6.2, lng: 106.8 }, dropoff: { lat: -6.25, lng: 106.85 } };
      const ok = await send('POST', `${sm.url}/sessions`, { userId: 'u-sec-1', ...trip });
      expect(ok.status).toBe(201);
      // Both providers failing: errors logged, estimate answered.
      await sims.faults.set('google-maps', { mode: 'error', status: 500 });
      await sims.faults.set('here', { mode: 'reset' });
      for (let i = 0; i < 4; i++) await send('POST', `${sm.url}/sessions`, { userId: 'u-sec-1', ...trip });
      await sims.faults.clear();
      const sessionId = (ok.body as { id: string }).id;
      expect(
        (
          await send('POST', `${orchestrator.url}/orders`, {
            sessionId,
            userId: 'u-sec-1',
            paymentMethod: 'cash',
          })
        ).status,
      ).toBe(201);
      await send('GET', `${orchestrator.url}/orders/nothing-here`);
      await send('GET', `${orchestrator.url}/orders?userId=u-sec-1`);
      // user-service failing for a user never cached: its breaker opens, the alerter fires (and fails).
      await sims.faults.set('user-service', { mode: 'error', status: 500 });
      for (let i = 0; i < 5; i++) {
        const other = await send('POST', `${sm.url}/sessions`, { userId: `u-sec-x${i}`, ...trip });
        await send('POST', `${orchestrator.url}/orders`, {
          sessionId: (other.body as { id: string }).id,
          userId: `u-sec-x${i}`,
          paymentMethod: 'cash',
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await orchestrator.close();
      await sm.close();
      await neighbours.close();
      await sims.stop();
      await dropSchema(testDatabaseUrl(), schema);
    }
    const everything = [...logger.lines, ...answers].join('\n');
    expect(logger.lines.length).toBeGreaterThan(3);
    for (const [name, secret] of Object.entries(secrets)) {
      if (everything.includes(secret))
        throw new Error(
          `secret ${name} appears in: ${everything.split('\n').find((line) => line.includes(secret))}`,
        );
    }
    expect(answers.join('\n')).not.toMatch(/\bat [\w.<>]+ \(|\.ts:\d+/);
  }, 30_000);
});
