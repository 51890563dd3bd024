import { Registry } from 'prom-client';
import { BREAKER_NAMES, DEFAULT_BREAKER_CONFIGS } from './default-breaker-configs';
import { CircuitBreakerManager } from './circuit-breaker-manager';

const quietLogger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };
const managers: CircuitBreakerManager[] = [];
function manager(
  options: ConstructorParameters<typeof CircuitBreakerManager>[0] = {},
): CircuitBreakerManager {
  const m = new CircuitBreakerManager({ logger: quietLogger, ...options });
  managers.push(m);
  return m;
}
afterAll(() => managers.forEach((m) => m.shutdown()));

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const json = await registry.getMetricsAsJSON();
  const metric = json.find((m) => m.name === name);
  return metric?.values.find((v) =>
    Object.entries(labels).every(([k, val]) => String((v.labels as Record<string, unknown>)[k]) === val),
  )?.value;
}

describe('CircuitBreakerManager', () => {
  it('same name → same breaker; get and list', () => {
    const m = manager();
    const a = m.getOrCreate({ name: 'a', failureThreshold: 2 });
    expect(m.getOrCreate({ name: 'a', failureThreshold: 9 })).toBe(a);
    expect(m.get('a')).toBe(a);
    expect(m.get('nope')).toBeUndefined();
    const [snap] = m.list();
    expect(snap).toMatchObject({ name: 'a', state: 'closed', counts: { requests: 0 }, retryAfterMs: 0 });
    expect(snap!.config).toMatchObject({ failureThreshold: 2 });
  });

  it('execute(name) guards known names and runs unknown names unguarded', async () => {
    const m = manager();
    m.getOrCreate({ name: 'known', failureThreshold: 1 });
    await expect(m.execute('known', () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(m.execute('known', () => 'y')).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });
    await expect(m.execute('unknown', () => 'z')).resolves.toBe('z');
    await expect(
      m.execute('unknown', () => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
  });

  it('defect 4: every downstream of the design has a valid default config, payment-nicepay included', () => {
    const m = manager();
    expect(Object.keys(DEFAULT_BREAKER_CONFIGS).sort()).toEqual([...BREAKER_NAMES].sort());
    expect(DEFAULT_BREAKER_CONFIGS['payment-nicepay']).toBeDefined();
    for (const name of BREAKER_NAMES) {
      const cb = m.getOrCreate(m.configFor(name));
      expect(cb.name).toBe(name);
      expect(DEFAULT_BREAKER_CONFIGS[name]!.callTimeoutMs).toBeGreaterThan(0);
    }
    expect(DEFAULT_BREAKER_CONFIGS['bbd-dispatch']).toMatchObject({
      maxRequests: 3,
      intervalMs: 60_000,
      timeoutMs: 30_000,
      failureThreshold: 5,
      failureRatioThreshold: 0.5,
      minRequests: 10,
      callTimeoutMs: 5_000,
    });
  });

  it('configFor merges overrides over the defaults', () => {
    const m = manager();
    expect(m.configFor('bbd-dispatch', { timeoutMs: 2000 })).toMatchObject({
      name: 'bbd-dispatch',
      timeoutMs: 2000,
      maxRequests: 3,
    });
    expect(m.configFor('custom', { failureThreshold: 1 })).toEqual({ name: 'custom', failureThreshold: 1 });
  });

  it('disabled: pass-through that never rejects but still applies callTimeoutMs', async () => {
    const m = manager({ disabled: true });
    const cb = m.getOrCreate({ name: 'p', failureThreshold: 1, callTimeoutMs: 20 });
    for (let i = 0; i < 5; i++)
      await expect(cb.execute(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(cb.state).toBe('closed');
    let signal!: AbortSignal;
    await expect(
      cb.execute((s) => {
        signal = s;
        return new Promise(() => undefined);
      }),
    ).rejects.toMatchObject({ code: 'CALL_TIMEOUT' });
    expect(signal.aborted).toBe(true);
  });

  it('many managers in one process do not collide; each has its own registry', async () => {
    const m1 = manager();
    const m2 = manager();
    m1.getOrCreate({ name: 'same' });
    m2.getOrCreate({ name: 'same' });
    expect(m1.registry).not.toBe(m2.registry);
    expect(await metricValue(m1.registry, 'circuit_breaker_state', { name: 'same' })).toBe(0);
  });

  it('two managers sharing a registry reuse its metrics', async () => {
    const registry = new Registry();
    const m1 = manager({ registry });
    const m2 = manager({ registry });
    await m1.getOrCreate({ name: 'one' }).execute(() => 1);
    await m2.getOrCreate({ name: 'two' }).execute(() => 2);
    expect(
      await metricValue(registry, 'circuit_breaker_requests_total', { name: 'one', result: 'success' }),
    ).toBe(1);
    expect(
      await metricValue(registry, 'circuit_breaker_requests_total', { name: 'two', result: 'success' }),
    ).toBe(1);
  });
});

describe('breaker metrics', () => {
  it('defect 3: the state gauge exists from creation and is read lazily at scrape', async () => {
    let now = 0;
    const m = manager({ clock: () => now });
    const cb = m.getOrCreate({ name: 'g', failureThreshold: 1, timeoutMs: 1000 });
    expect(await metricValue(m.registry, 'circuit_breaker_state', { name: 'g' })).toBe(0);
    await cb.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    expect(await metricValue(m.registry, 'circuit_breaker_state', { name: 'g' })).toBe(2);
    now += 1001; // no call, no state read: the scrape itself observes half-open
    expect(await metricValue(m.registry, 'circuit_breaker_state', { name: 'g' })).toBe(1);
  });

  it('counts requests by result, transitions and call durations', async () => {
    let now = 0;
    const m = manager({ clock: () => now });
    const cb = m.getOrCreate({
      name: 'r',
      failureThreshold: 1,
      timeoutMs: 1000,
      maxRequests: 1,
      maxConcurrent: 5,
    });
    await cb.execute(() => {
      now += 30;
      return 'ok';
    });
    await cb.execute(() => Promise.reject(new Error('x'))).catch(() => undefined);
    await cb.execute(() => 'never').catch(() => undefined);
    now += 1001;
    const gate: Array<() => void> = [];
    const probe = cb.execute(() => new Promise<void>((r) => gate.push(r)));
    await cb.execute(() => 'never').catch(() => undefined); // half-open limit
    gate[0]!();
    await probe;
    const r = m.registry;
    expect(await metricValue(r, 'circuit_breaker_requests_total', { name: 'r', result: 'success' })).toBe(2);
    expect(await metricValue(r, 'circuit_breaker_requests_total', { name: 'r', result: 'failure' })).toBe(1);
    expect(await metricValue(r, 'circuit_breaker_requests_total', { name: 'r', result: 'rejected' })).toBe(1);
    expect(await metricValue(r, 'circuit_breaker_requests_total', { name: 'r', result: 'limited' })).toBe(1);
    expect(await metricValue(r, 'circuit_breaker_requests_total', { name: 'r', result: 'excluded' })).toBe(0);
    expect(
      await metricValue(r, 'circuit_breaker_transitions_total', { name: 'r', from: 'closed', to: 'open' }),
    ).toBe(1);
    expect(
      await metricValue(r, 'circuit_breaker_transitions_total', { name: 'r', from: 'open', to: 'half-open' }),
    ).toBe(1);
    expect(
      await metricValue(r, 'circuit_breaker_transitions_total', {
        name: 'r',
        from: 'half-open',
        to: 'closed',
      }),
    ).toBe(1);
    const text = await r.metrics();
    expect(text).toContain(
      'circuit_breaker_call_duration_seconds_bucket{name="r",result="success",le="0.025"} 1',
    );
    expect(text).toContain(
      'circuit_breaker_call_duration_seconds_bucket{name="r",result="success",le="0.05"} 2',
    );
    expect(text).toContain('circuit_breaker_call_duration_seconds_count{name="r",result="failure"} 1');
    expect(text).toMatch(/circuit_breaker_call_duration_seconds_sum\{name="r",result="success"\} 0\.03/);
  });
});
