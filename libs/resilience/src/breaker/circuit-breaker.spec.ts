import {
  BulkheadRejectedError,
  CallTimeoutError,
  CircuitOpenError,
  TooManyRequestsError,
  isBreakerRejection,
  isCallTimeoutError,
} from '../errors';
import type { Alerter, AlertSeverity } from '../alerting/alerter';
import { defaultIsSuccessful } from './breaker-config';
import type { BreakerConfig } from './breaker.types';
import { CircuitBreaker } from './circuit-breaker';

class FakeClock {
  t = 1_000_000;
  readonly read = (): number => this.t;
}

const quietLogger = { log: jest.fn(), warn: jest.fn(), error: jest.fn() };

function breaker(
  config: Omit<BreakerConfig, 'clock'>,
  alerter?: Alerter,
): { cb: CircuitBreaker; clock: FakeClock } {
  const clock = new FakeClock();
  const cb = new CircuitBreaker(config, { clock: clock.read, logger: quietLogger, alerter });
  return { cb, clock };
}

const boom = (): Promise<never> => Promise.reject(Object.assign(new Error('boom'), { status: 503 }));
const ok = (): Promise<string> => Promise.resolve('ok');
const settle = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('CircuitBreaker: the design unit tests', () => {
  it('opens after 3 consecutive failures', async () => {
    const { cb } = breaker({ name: 'design', failureThreshold: 3 });
    await settle(cb.execute(boom));
    await settle(cb.execute(boom));
    expect(cb.state).toBe('closed');
    await settle(cb.execute(boom));
    expect(cb.state).toBe('open');
    const fn = jest.fn(ok);
    await expect(cb.execute(fn)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(fn).not.toHaveBeenCalled();
  });

  it('recovers after the open timeout', async () => {
    const { cb, clock } = breaker({ name: 'design', failureThreshold: 3, timeoutMs: 30_000 });
    for (let i = 0; i < 3; i++) await settle(cb.execute(boom));
    expect(cb.state).toBe('open');
    clock.t += 30_001;
    expect(cb.state).toBe('half-open');
    await expect(cb.execute(ok)).resolves.toBe('ok');
    expect(cb.state).toBe('closed');
  });
});

describe('CircuitBreaker: Semantics', () => {
  it('admits synchronously: counts move inside execute(), before any await', () => {
    const { cb } = breaker({ name: 's' });
    const p = cb.execute(() => new Promise<void>(() => undefined));
    expect(cb.counts.requests).toBe(1);
    void p;
  });

  it('rejects synchronously when open, without running fn or touching counts', async () => {
    const { cb, clock } = breaker({ name: 's', failureThreshold: 1, timeoutMs: 1000 });
    await settle(cb.execute(boom));
    const fn = jest.fn(ok);
    const rejection = cb.execute(fn);
    expect(fn).not.toHaveBeenCalled();
    const err = (await settle(rejection)) as CircuitOpenError;
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err.code).toBe('CIRCUIT_OPEN');
    expect(err.breaker).toBe('s');
    expect(err.retryAfterMs).toBe(1000);
    expect(cb.counts).toMatchObject({ requests: 0, totalFailures: 0 });
    clock.t += 400;
    expect(cb.retryAfterMs()).toBe(600);
  });

  it('open → half-open only when openedAt + timeoutMs < now (strict)', async () => {
    const { cb, clock } = breaker({ name: 's', failureThreshold: 1, timeoutMs: 5000 });
    await settle(cb.execute(boom));
    const openedAt = clock.t;
    expect(cb.openedAt).toBe(openedAt);
    clock.t = openedAt + 5000;
    expect(cb.state).toBe('open');
    await expect(cb.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    clock.t = openedAt + 5001;
    expect(cb.state).toBe('half-open');
  });

  it('the transition is also observed on admission (no state read needed)', async () => {
    const { cb, clock } = breaker({ name: 's', failureThreshold: 1, timeoutMs: 5000 });
    await settle(cb.execute(boom));
    clock.t += 5001;
    await expect(cb.execute(ok)).resolves.toBe('ok');
    expect(cb.state).toBe('closed');
  });

  it('closed clears counts only when expiry < now, starting a new generation', async () => {
    const { cb, clock } = breaker({ name: 's', intervalMs: 10_000, failureThreshold: 100 });
    const g0 = cb.generation;
    await settle(cb.execute(boom));
    clock.t += 10_000;
    expect(cb.counts.totalFailures).toBe(1);
    expect(cb.generation).toBe(g0);
    clock.t += 1;
    expect(cb.state).toBe('closed');
    expect(cb.counts.totalFailures).toBe(0);
    expect(cb.generation).toBe(g0 + 1);
  });

  it('half-open admits at most maxRequests calls in the same tick', async () => {
    const { cb, clock } = breaker({ name: 's', failureThreshold: 1, timeoutMs: 1000, maxRequests: 3 });
    await settle(cb.execute(boom));
    clock.t += 1001;
    let ran = 0;
    const gate: Array<() => void> = [];
    const calls = Array.from({ length: 50 }, () =>
      settle(
        cb.execute(() => {
          ran++;
          return new Promise<void>((resolve) => gate.push(resolve));
        }),
      ),
    );
    expect(ran).toBe(3);
    gate.forEach((release) => release());
    const results = await Promise.all(calls);
    expect(results.filter((r) => r instanceof TooManyRequestsError)).toHaveLength(47);
    expect(results.filter((r) => r === undefined)).toHaveLength(3);
    expect(cb.state).toBe('closed');
  });

  it('half-open needs maxRequests consecutive successes to close; any failure reopens', async () => {
    const { cb, clock } = breaker({ name: 's', failureThreshold: 1, timeoutMs: 1000, maxRequests: 2 });
    await settle(cb.execute(boom));
    clock.t += 1001;
    await cb.execute(ok);
    expect(cb.state).toBe('half-open');
    await settle(cb.execute(boom));
    expect(cb.state).toBe('open');
    clock.t += 1001;
    await cb.execute(ok);
    await cb.execute(ok);
    expect(cb.state).toBe('closed');
  });

  it('an excluded outcome counts in totalExclusions only and frees a half-open slot', async () => {
    const cancelled = new Error('cancelled');
    const { cb, clock } = breaker({
      name: 's',
      failureThreshold: 1,
      timeoutMs: 1000,
      isExcluded: (err) => err === cancelled,
    });
    await settle(cb.execute(() => Promise.reject(cancelled)));
    expect(cb.counts).toMatchObject({ requests: 1, totalExclusions: 1, totalFailures: 0, totalSuccesses: 0 });
    await settle(cb.execute(boom));
    clock.t += 1001;
    await settle(cb.execute(() => Promise.reject(cancelled)));
    expect(cb.state).toBe('half-open');
    await expect(cb.execute(ok)).resolves.toBe('ok');
    expect(cb.state).toBe('closed');
  });

  it('a result from a call admitted in an older generation is ignored', async () => {
    const { cb, clock } = breaker({ name: 's', failureThreshold: 1, timeoutMs: 1000 });
    let release!: () => void;
    const slow = settle(
      cb.execute(() => new Promise<never>((_, reject) => (release = () => reject(new Error('late'))))),
    );
    await settle(cb.execute(boom));
    expect(cb.state).toBe('open');
    clock.t += 1001;
    expect(cb.state).toBe('half-open');
    release();
    await slow;
    expect(cb.state).toBe('half-open');
  });

  it('uses the design trip policy: ratio once validRequests ≥ minRequests', async () => {
    const { cb } = breaker({ name: 's', failureRatioThreshold: 0.5, minRequests: 4 });
    await cb.execute(ok);
    await settle(cb.execute(boom));
    await settle(cb.execute(boom));
    expect(cb.state).toBe('closed'); // 2/3 but only 3 requests
    await settle(cb.execute(boom));
    expect(cb.state).toBe('open'); // 3/4 ≥ 0.5
  });

  it('with no trip setting applies gobreaker’s default: more than 5 consecutive failures', async () => {
    const { cb } = breaker({ name: 's' });
    for (let i = 0; i < 5; i++) await settle(cb.execute(boom));
    expect(cb.state).toBe('closed');
    await settle(cb.execute(boom));
    expect(cb.state).toBe('open');
  });

  it('a custom readyToTrip replaces the thresholds', async () => {
    const readyToTrip = jest.fn(() => false);
    const { cb } = breaker({ name: 's', failureThreshold: 1, readyToTrip });
    for (let i = 0; i < 10; i++) await settle(cb.execute(boom));
    expect(cb.state).toBe('closed');
    expect(readyToTrip).toHaveBeenCalledTimes(10);
    expect(readyToTrip).toHaveBeenLastCalledWith(expect.objectContaining({ consecutiveFailures: 10 }));
  });

  it('sliding window: a result is credited to the bucket its call started in, dropped once that bucket left', async () => {
    const { cb, clock } = breaker({
      name: 's',
      intervalMs: 3000,
      bucketPeriodMs: 1000,
      failureThreshold: 100,
    });
    let release!: () => void;
    const slow = settle(
      cb.execute(() => new Promise<never>((_, reject) => (release = () => reject(new Error('x'))))),
    );
    clock.t += 1000;
    await settle(cb.execute(boom));
    expect(cb.bucketAt(0)).toMatchObject({ requests: 1, totalFailures: 1 });
    release();
    await slow;
    expect(cb.bucketAt(-1)).toMatchObject({ requests: 1, totalFailures: 1 });
    expect(cb.counts).toMatchObject({ requests: 2, totalFailures: 2 });
    clock.t += 3000; // both buckets leave the window
    expect(cb.state).toBe('closed');
    expect(cb.counts).toMatchObject({ requests: 0, totalFailures: 0 });
  });

  it.each<[Partial<BreakerConfig>, RegExp]>([
    [{ name: '' }, /name/],
    [{ failureRatioThreshold: 1.5 }, /failureRatioThreshold/],
    [{ failureRatioThreshold: -0.1 }, /failureRatioThreshold/],
    [{ timeoutMs: -1 }, /timeoutMs/],
    [{ intervalMs: -1 }, /intervalMs/],
    [{ bucketPeriodMs: -5 }, /bucketPeriodMs/],
    [{ callTimeoutMs: -5 }, /callTimeoutMs/],
    [{ maxRequests: -1 }, /maxRequests/],
    [{ maxRequests: 1.5 }, /maxRequests/],
    [{ failureThreshold: 2.5 }, /failureThreshold/],
    [{ minRequests: 0.5 }, /minRequests/],
    [{ maxConcurrent: 0 }, /maxConcurrent/],
  ])('invalid config %p throws naming the field', (patch, field) => {
    expect(() => new CircuitBreaker({ name: 'bad', ...patch } as BreakerConfig)).toThrow(field);
  });
});

describe('CircuitBreaker: defects of the original design', () => {
  it('defect 1: a zero threshold is off, not "always"', async () => {
    const { cb } = breaker({ name: 'd1', failureThreshold: 0, failureRatioThreshold: 0 });
    for (let i = 0; i < 20; i++) await settle(cb.execute(boom));
    expect(cb.state).toBe('closed');
    const { cb: ratioOnly } = breaker({
      name: 'd1b',
      failureThreshold: 0,
      failureRatioThreshold: 0.5,
      minRequests: 10,
    });
    await settle(ratioOnly.execute(boom));
    expect(ratioOnly.state).toBe('closed');
  });

  it('defect 2: recovery alert on half-open → closed; warning on open', async () => {
    const alerts: Array<[string, string, AlertSeverity]> = [];
    const alerter: Alerter = { sendAlert: (n, m, s) => void alerts.push([n, m, s]) };
    const { cb, clock } = breaker({ name: 'd2', failureThreshold: 1, timeoutMs: 1000 }, alerter);
    await settle(cb.execute(boom));
    clock.t += 1001;
    await cb.execute(ok);
    expect(alerts.map(([n, , s]) => [n, s])).toEqual([
      ['d2', 'warning'],
      ['d2', 'info'],
    ]);
    expect(quietLogger.log).toHaveBeenCalledWith(expect.stringMatching(/d2.*half-open.*closed/));
  });

  it('an alerter that throws or rejects never breaks the breaker', async () => {
    const alerter: Alerter = { sendAlert: () => Promise.reject(new Error('down')) };
    const throwing: Alerter = {
      sendAlert: () => {
        throw new Error('sync');
      },
    };
    for (const a of [alerter, throwing]) {
      const { cb } = breaker({ name: 'al', failureThreshold: 1 }, a);
      await expect(cb.execute(boom)).rejects.toThrow('boom');
      expect(cb.state).toBe('open');
    }
  });

  it('defect 5: a caller can tell an unknown outcome (timeout) from a call never sent (rejection)', async () => {
    const { cb } = breaker({ name: 'payment-x', failureThreshold: 1, callTimeoutMs: 20 });
    let sent = false;
    const timedOut = await settle(
      cb.execute(() => {
        sent = true;
        return new Promise(() => undefined);
      }),
    );
    expect(sent).toBe(true);
    expect(isCallTimeoutError(timedOut)).toBe(true); // may have reached the gateway: ask it before failing over
    expect(isBreakerRejection(timedOut)).toBe(false);
    const rejected = await settle(cb.execute(ok));
    expect(isBreakerRejection(rejected)).toBe(true); // never sent: safe to fail over at once
    expect(isCallTimeoutError(rejected)).toBe(false);
  });

  it('defect 6: 408 and 429 are failures; other 4xx are healthy', () => {
    expect(defaultIsSuccessful(undefined)).toBe(true);
    expect(defaultIsSuccessful({ status: 400 })).toBe(true);
    expect(defaultIsSuccessful({ statusCode: 404 })).toBe(true);
    expect(defaultIsSuccessful({ response: { status: 422 } })).toBe(true);
    expect(defaultIsSuccessful({ status: 408 })).toBe(false);
    expect(defaultIsSuccessful({ response: { status: 429 } })).toBe(false);
    expect(defaultIsSuccessful({ statusCode: 500 })).toBe(false);
    expect(defaultIsSuccessful(new Error('ECONNREFUSED'))).toBe(false);
    expect(defaultIsSuccessful(new CircuitOpenError('x', 1))).toBe(false);
  });

  it('defect 6 through a breaker: 429s trip it, 404s do not', async () => {
    const { cb } = breaker({ name: 'd6', failureThreshold: 3 });
    for (let i = 0; i < 5; i++) await settle(cb.execute(() => Promise.reject({ status: 404 })));
    expect(cb.state).toBe('closed');
    expect(cb.counts.totalSuccesses).toBe(5);
    for (let i = 0; i < 3; i++) await settle(cb.execute(() => Promise.reject({ status: 429 })));
    expect(cb.state).toBe('open');
  });
});

describe('CircuitBreaker: opossum as the executor', () => {
  it('per-call abort: a timed-out call’s signal fires, a concurrent call’s does not', async () => {
    const { cb } = breaker({ name: 'o', callTimeoutMs: 30, readyToTrip: () => false });
    let slowSignal!: AbortSignal;
    let fastSignal!: AbortSignal;
    let releaseFast!: () => void;
    const slow = settle(
      cb.execute((signal) => {
        slowSignal = signal;
        return new Promise(() => undefined);
      }),
    );
    const fast = cb.execute((signal) => {
      fastSignal = signal;
      return new Promise<string>((resolve) => (releaseFast = () => resolve('fast')));
    });
    const err = await slow;
    expect(err).toBeInstanceOf(CallTimeoutError);
    expect(slowSignal.aborted).toBe(true);
    expect(slowSignal.reason).toBe(err);
    expect(fastSignal.aborted).toBe(false);
    releaseFast();
    await expect(fast).resolves.toBe('fast');
    expect(cb.counts).toMatchObject({ totalFailures: 1, totalSuccesses: 1 });
  });

  it('a call that takes no signal parameter still times out with CallTimeoutError', async () => {
    const { cb } = breaker({ name: 'o', callTimeoutMs: 20 });
    const err = await settle(cb.execute(() => new Promise(() => undefined)));
    expect(err).toBeInstanceOf(CallTimeoutError);
    expect(cb.counts.totalFailures).toBe(1);
  });

  it('rejection errors are real instances with code, breaker and message', async () => {
    const { cb } = breaker({ name: 'rj', failureThreshold: 1 });
    await settle(cb.execute(boom));
    const err = (await settle(cb.execute(ok))) as CircuitOpenError;
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({
      name: 'CircuitOpenError',
      code: 'CIRCUIT_OPEN',
      breaker: 'rj',
      isBrokenCircuitError: true,
    });
    expect(err.message).toBe("circuit breaker 'rj' is open");
    expect(String(err.stack)).toContain('CircuitOpenError');
  });

  it('bulkhead rejections are checked first and touch no counts', async () => {
    const { cb } = breaker({ name: 'o', maxConcurrent: 2 });
    const gates: Array<() => void> = [];
    const running = [0, 1].map(() => cb.execute(() => new Promise<void>((resolve) => gates.push(resolve))));
    const fn = jest.fn(ok);
    const err = await settle(cb.execute(fn));
    expect(err).toBeInstanceOf(BulkheadRejectedError);
    expect((err as BulkheadRejectedError).code).toBe('BULKHEAD_FULL');
    expect(fn).not.toHaveBeenCalled();
    expect(cb.counts).toMatchObject({ requests: 2, totalFailures: 0 });
    gates.forEach((g) => g());
    await Promise.all(running);
    await expect(cb.execute(ok)).resolves.toBe('ok');
    expect(cb.counts).toMatchObject({ requests: 3, totalSuccesses: 3, totalFailures: 0 });
  });

  it('a synchronous fn returning undefined succeeds', async () => {
    const { cb } = breaker({ name: 'o' });
    await expect(cb.execute(() => undefined)).resolves.toBeUndefined();
    expect(cb.counts.totalSuccesses).toBe(1);
  });

  it('does not mutate the config object it was given', () => {
    const config: BreakerConfig = { name: 'o', callTimeoutMs: 100, maxConcurrent: 3 };
    const before = JSON.stringify(config);
    const cb = new CircuitBreaker(config, { logger: quietLogger });
    expect(JSON.stringify(config)).toBe(before);
    cb.shutdown();
  });

  it('opossum’s own tripping is off: 200 failures still run fn', async () => {
    const { cb } = breaker({ name: 'o', readyToTrip: () => false });
    const fn = jest.fn(boom);
    for (let i = 0; i < 200; i++) await settle(cb.execute(fn));
    expect(fn).toHaveBeenCalledTimes(200);
    expect(cb.counts.totalFailures).toBe(200);
  });
});

describe('CircuitBreaker: second review', () => {
  it('without callTimeoutMs a call that takes its signal still gets its own AbortSignal', async () => {
    const { cb } = breaker({ name: 'sig' });
    const signals: AbortSignal[] = [];
    await cb.execute((signal) => void signals.push(signal));
    await cb.execute((signal) => void signals.push(signal));
    expect(signals[0]).toBeInstanceOf(AbortSignal);
    expect(signals[1]).toBeInstanceOf(AbortSignal);
    expect(signals[0]).not.toBe(signals[1]);
    expect(signals.map((s) => s.aborted)).toEqual([false, false]);
  });

  it('a rejection without a reason (undefined or null) is a failure, not "no error"', async () => {
    const { cb } = breaker({ name: 'nil' });
    expect(await settle(cb.execute(() => Promise.reject(undefined)))).toBeUndefined();
    expect(
      await settle(
        cb.execute(() => {
          throw null;
        }),
      ),
    ).toBeNull();
    expect(cb.counts).toMatchObject({ requests: 2, totalSuccesses: 0, totalFailures: 2 });
  });

  it('the default clock reads Date.now at each use, so jest fake timers installed later apply', async () => {
    const cb = new CircuitBreaker(
      { name: 'ft', failureThreshold: 1, timeoutMs: 1_000 },
      { logger: quietLogger },
    );
    jest.useFakeTimers({ now: Date.now() });
    try {
      await settle(cb.execute(boom));
      expect(cb.state).toBe('open');
      jest.setSystemTime(Date.now() + 1_001);
      expect(cb.state).toBe('half-open');
    } finally {
      jest.useRealTimers();
      cb.shutdown();
    }
  });

  it('leaves no ref’d timer behind once its calls have settled', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const cb = new CircuitBreaker(
      {
        name: 'tm',
        callTimeoutMs: 1_000,
        maxConcurrent: 5,
        failureThreshold: 1,
        intervalMs: 1_000,
        bucketPeriodMs: 100,
      },
      { logger: quietLogger },
    );
    await cb.execute((signal) => Promise.resolve(signal.aborted));
    await settle(cb.execute(boom));
    await settle(cb.execute(ok));
    expect(cb.state).toBe('open');
    expect(timers()).toBe(before);
    cb.shutdown();
  });
});

describe('CircuitBreaker: signals of functions that declare no parameter', () => {
  it('a jest.fn() records its signal: one per call, and a timed-out call’s signal fires', async () => {
    const { cb } = breaker({ name: 'mock', callTimeoutMs: 20, readyToTrip: () => false });
    const quick = jest.fn().mockResolvedValue('ok');
    await cb.execute(quick);
    await cb.execute(quick);
    const [first, second] = quick.mock.calls.map((args: unknown[]) => args[0] as AbortSignal);
    expect(first).toBeInstanceOf(AbortSignal);
    expect(first).not.toBe(second);

    const hung = jest.fn(() => new Promise<never>(() => undefined));
    const err = await settle(cb.execute(hung));
    expect(err).toBeInstanceOf(CallTimeoutError);
    const signal = hung.mock.calls[0] as unknown as [AbortSignal];
    expect(signal[0].aborted).toBe(true);
    expect(signal[0].reason).toBe(err);
    expect(first!.aborted).toBe(false);
  });
});
