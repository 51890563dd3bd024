import { type INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { configureServiceApp } from '@app/service-kit';
import request from 'supertest';
import {
  startSimulators,
  type Simulators,
  EPHEMERAL_PORTS,
} from '../../downstream-simulators/src/simulators';
import { startRedisServer, type RedisServerHandle } from '../../../test/support/redis';
import { AppModule } from '../src/app.module';
import { loadSessionManagerConfig } from '../src/config/session-manager.config';

const SMALL_BREAKERS = JSON.stringify({
  'google-maps': {
    callTimeoutMs: 200,
    timeoutMs: 400,
    failureThreshold: 2,
    failureRatioThreshold: 0,
    minRequests: 0,
  },
  'here-maps': {
    callTimeoutMs: 200,
    timeoutMs: 400,
    failureThreshold: 2,
    failureRatioThreshold: 0,
    minRequests: 0,
  },
});

const PICKUP = { lat: -6.1754, lng: 106.8272 };
const DROPOFF = { lat: -6.2297, lng: 106.8295 };

interface Harness {
  app: INestApplication;
  http: ReturnType<typeof request>;
  advance(ms: number): void;
  close(): Promise<void>;
}

async function startApp(sims: Simulators, env: Record<string, string>): Promise<Harness> {
  let now = Date.parse('2026-03-02T03:00:00Z');
  const config = loadSessionManagerConfig({
    GOOGLE_MAPS_URL: sims.urls['google-maps'],
    HERE_URL: sims.urls.here,
    BREAKER_OVERRIDES: SMALL_BREAKERS,
    SESSION_TTL_MS: '60000',
    ...env,
  });
  config.clock = () => now;
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.register(config)] }).compile();
  const app = moduleRef.createNestApplication({ bodyParser: false, logger: false });
  configureServiceApp(app);
  await app.listen(0, '127.0.0.1');
  return {
    app,
    http: request(app.getHttpServer()),
    advance: (ms) => {
      now += ms;
    },
    close: () => app.close(),
  };
}

const body = (pickup = PICKUP, dropoff = DROPOFF) => ({ userId: 'u-alice', pickup, dropoff });

async function waitFor(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('session manager (e2e, Redis)', () => {
  let sims: Simulators;
  let redis: RedisServerHandle;
  let h: Harness;

  beforeAll(async () => {
    sims = await startSimulators({
      ports: EPHEMERAL_PORTS,
    });
    redis = await startRedisServer();
    h = await startApp(sims, { REDIS_URL: redis.url });
  });

  afterAll(async () => {
    await h?.close();
    await redis?.stop();
    await sims?.stop();
  });

  afterEach(async () => {
    await sims.faults.clear();
  });

  it('prices a trip from google-maps and keeps the session in Redis until it expires', async () => {
    const created = await h.http.post('/sessions').send(body()).expect(201);
    const session = created.body;
    expect(session.quote.provider).toBe('google-maps');
    expect(session.quote.distanceMeters).toBeGreaterThan(5000);
    expect(session.quote.fare.currency).toBe('IDR');
    expect(Number.isInteger(session.quote.fare.amount)).toBe(true);
    expect(session.quote.fare.amount).toBeGreaterThanOrEqual(12000);
    expect(Date.parse(session.expiresAt) - Date.parse(session.createdAt)).toBe(60000);

    const read = await h.http.get(`/sessions/${session.id}`).expect(200);
    expect(read.body).toEqual(session);

    h.advance(60_001);
    await h.http.get(`/sessions/${session.id}`).expect(404);
    await h.http.get('/sessions/00000000-0000-4000-8000-000000000000').expect(404);
    await h.http.get('/sessions/not-a-session').expect(404);
  });

  it('rejects bad input naming the field, without calling a provider', async () => {
    sims.resetCalls();
    const lat = await h.http
      .post('/sessions')
      .send(body({ lat: 91, lng: 106.8 }))
      .expect(400);
    expect(lat.body.message).toContain('pickup.lat');
    const lng = await h.http
      .post('/sessions')
      .send(body(PICKUP, { lat: -6.2, lng: -181 }))
      .expect(400);
    expect(lng.body.message).toContain('dropoff.lng');
    const missing = await h.http.post('/sessions').send({ userId: 'u-alice', pickup: PICKUP }).expect(400);
    expect(missing.body.message).toContain('dropoff');
    await h.http
      .post('/sessions')
      .send({ ...body(), extra: 1 })
      .expect(400);
    await h.http
      .post('/sessions')
      .send({ ...body(), userId: '' })
      .expect(400);
    expect(sims.calls('google-maps').total).toBe(0);
  });

  it('falls over to HERE when google-maps errors, then to the route cache, then to an estimate', async () => {
    await sims.faults.set('google-maps', { mode: 'error', status: 500 });
    const fromHere = await h.http.post('/sessions').send(body()).expect(201);
    expect(fromHere.body.quote.provider).toBe('here');

    await sims.faults.set('here', { mode: 'error', status: 503 });
    // ~30 m away from the pair routed above: same rounded key → the cached route.
    const near = { lat: PICKUP.lat + 0.0002, lng: PICKUP.lng - 0.0001 };
    const cached = await h.http.post('/sessions').send(body(near)).expect(201);
    expect(cached.body.quote.provider).toBe('cache');
    expect(cached.body.quote.distanceMeters).toBe(fromHere.body.quote.distanceMeters);

    const elsewhere = await h.http
      .post('/sessions')
      .send(body({ lat: -6.3, lng: 106.7 }))
      .expect(201);
    expect(elsewhere.body.quote.provider).toBe('estimate');
    expect(elsewhere.body.quote.distanceMeters).toBeGreaterThan(0);
    expect(Number.isInteger(elsewhere.body.quote.fare.amount)).toBe(true);

    const metrics = await h.http.get('/metrics').expect(200);
    for (const provider of ['google-maps', 'here', 'cache', 'estimate']) {
      expect(metrics.text).toMatch(new RegExp(`session_routes_total\\{provider="${provider}"\\} [1-9]`));
    }
    expect(metrics.text).toContain('stale_cache_lookups_total{cache="routes",kind="stale"}');
  });

  it('answers within the breaker deadlines when both providers hang or refuse, then skips open breakers', async () => {
    h.advance(401); // breakers opened by the previous test may probe again
    await sims.faults.set('google-maps', { mode: 'hang' });
    await sims.faults.set('here', { mode: 'refuse' });
    const hung = await h.http
      .post('/sessions')
      .send(body({ lat: -6.31, lng: 106.71 }))
      .expect(201);
    expect(hung.body.quote.provider).toBe('estimate');
    await h.http
      .post('/sessions')
      .send(body({ lat: -6.32, lng: 106.72 }))
      .expect(201);

    const breakers = await h.http.get('/breakers').expect(200);
    const states = Object.fromEntries(
      breakers.body.map((b: { name: string; state: string }) => [b.name, b.state]),
    );
    expect(states).toEqual({ 'google-maps': 'open', 'here-maps': 'open' });

    await sims.faults.clear();
    sims.resetCalls();
    const skipped = await h.http
      .post('/sessions')
      .send(body({ lat: -6.33, lng: 106.73 }))
      .expect(201);
    expect(skipped.body.quote.provider).toBe('estimate');
    expect(sims.calls('google-maps').total).toBe(0);
    expect(sims.calls('here').total).toBe(0);

    const ready = await h.http.get('/health/ready').expect(200);
    expect(ready.body.status).toBe('degraded');

    h.advance(401);
    const recovered = await h.http.post('/sessions').send(body()).expect(201);
    expect(recovered.body.quote.provider).toBe('google-maps');
  });

  it('answers 503 with Retry-After while Redis is down, and recovers when it is back', async () => {
    await redis.kill();
    const down = await h.http.post('/sessions').send(body()).expect(503);
    expect(down.headers['retry-after']).toMatch(/^\d+$/);
    expect(down.body).toMatchObject({ statusCode: 503, service: 'session-store' });
    await h.http.get('/sessions/00000000-0000-4000-8000-000000000000').expect(503);
    await h.http.get('/health/ready').expect(503);

    await redis.restart();
    await waitFor(async () => (await h.http.get('/health/ready')).status === 200);
    const back = await h.http.post('/sessions').send(body()).expect(201);
    await h.http.get(`/sessions/${back.body.id}`).expect(200);
  });
});

describe('session manager (e2e, embedded store)', () => {
  let sims: Simulators;
  let h: Harness;

  beforeAll(async () => {
    sims = await startSimulators({
      ports: EPHEMERAL_PORTS,
    });
    h = await startApp(sims, {});
  });

  afterAll(async () => {
    await h?.close();
    await sims?.stop();
  });

  it('keeps sessions in process with the same TTL semantics', async () => {
    const created = await h.http.post('/sessions').send(body()).expect(201);
    expect(created.body.quote.provider).toBe('google-maps');
    await h.http.get(`/sessions/${created.body.id}`).expect(200);
    h.advance(59_999);
    await h.http.get(`/sessions/${created.body.id}`).expect(200);
    h.advance(1);
    await h.http.get(`/sessions/${created.body.id}`).expect(404);
    const ready = await h.http.get('/health/ready').expect(200);
    expect(ready.body.breakers.map((b: { name: string }) => b.name).sort()).toEqual([
      'google-maps',
      'here-maps',
    ]);
  });
});
