// Port of sony/gobreaker v2.4's gobreaker_test.go, twostep_gobreaker_test.go and counter_test.go.
// pseudoSleep(d) moves the injected clock by d; the clock also ticks 1 µs per read, like the real
// time that passes between statements in Go, so "over Timeout" at exactly the timeout still holds.
import { BREAKER_STATE_VALUE } from '../metrics/breaker-metrics';
import type { BreakerConfig, BreakerState, Counts } from './breaker.types';
import { CircuitBreaker } from './circuit-breaker';
import { RollingCounts, emptyCounts } from './rolling-counts';
import { TooManyRequestsError } from '../errors';

const errFailure = new Error('fail');
const errExcluded = new Error('excluded');

class TickingClock {
  t = 1_700_000_000_000;
  readonly read = (): number => (this.t += 0.001);
}

function counts(partial: Partial<Counts> = {}): Counts {
  return { ...emptyCounts(), ...partial };
}

interface Harness {
  cb: CircuitBreaker;
  clock: TickingClock;
  stateChange: { name: string; from: BreakerState; to: BreakerState } | undefined;
}

function make(config: Omit<BreakerConfig, 'clock'>): Harness {
  const clock = new TickingClock();
  const h: Harness = { clock, stateChange: undefined, cb: undefined as unknown as CircuitBreaker };
  h.cb = new CircuitBreaker({ ...config, clock: clock.read });
  return h;
}

const pseudoSleep = (h: Harness, ms: number): void => {
  h.clock.t += ms;
};

async function succeed(cb: CircuitBreaker): Promise<unknown> {
  try {
    await cb.execute(() => true);
    return undefined;
  } catch (err: unknown) {
    return err;
  }
}

async function fail(cb: CircuitBreaker): Promise<unknown> {
  try {
    await cb.execute(() => Promise.reject(errFailure));
    return new Error('expected failure');
  } catch (err: unknown) {
    return err === errFailure ? undefined : err;
  }
}

async function exclude(cb: CircuitBreaker): Promise<unknown> {
  try {
    await cb.execute(() => Promise.reject(errExcluded));
    return new Error('expected exclusion');
  } catch (err: unknown) {
    return err === errExcluded ? undefined : err;
  }
}

/** succeedLater: the call is admitted now and resolves when `release()` is called. */
function succeedLater(cb: CircuitBreaker): { done: Promise<unknown>; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const done = cb
    .execute(() => gate.then(() => true))
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  return { done, release };
}

const isSuccessfulNilOnly = (err: unknown): boolean => err === undefined;

function ratioTrip(c: Readonly<Counts>): boolean {
  const numReqs = c.requests - c.totalExclusions;
  return numReqs >= 3 && c.totalFailures / numReqs >= 0.6;
}

function newCustom(h?: { onChange?: Harness }): Harness {
  const harness = make({
    name: 'cb',
    maxRequests: 3,
    intervalMs: 30_000,
    timeoutMs: 90_000,
    readyToTrip: ratioTrip,
    isSuccessful: isSuccessfulNilOnly,
    isExcluded: (err) => err === errExcluded,
    onStateChange: (name, from, to) => {
      if (h?.onChange) h.onChange.stateChange = { name, from, to };
    },
  });
  return harness;
}

function newCustomTracked(): Harness {
  const box: { onChange?: Harness } = {};
  const h = newCustom(box);
  box.onChange = h;
  return h;
}

function newRollingWindowTracked(): Harness {
  const box: { h?: Harness } = {};
  const h = make({
    name: 'rw',
    maxRequests: 3,
    intervalMs: 30_000,
    bucketPeriodMs: 3_000,
    timeoutMs: 90_000,
    readyToTrip: ratioTrip,
    isSuccessful: isSuccessfulNilOnly,
    isExcluded: (err) => err === errExcluded,
    onStateChange: (name, from, to) => {
      if (box.h) box.h.stateChange = { name, from, to };
    },
  });
  box.h = h;
  return h;
}

const defaultSettings = (): Omit<BreakerConfig, 'clock'> => ({
  name: 'default',
  isSuccessful: isSuccessfulNilOnly,
});

describe('gobreaker v2.4 port', () => {
  test('TestStateConstants', () => {
    expect(BREAKER_STATE_VALUE.closed).toBe(0);
    expect(BREAKER_STATE_VALUE['half-open']).toBe(1);
    expect(BREAKER_STATE_VALUE.open).toBe(2);
  });

  test('TestNewCircuitBreaker', () => {
    const { cb: defaultCB } = make({ name: 'd' });
    expect(defaultCB.name).toBe('d');
    expect(defaultCB.maxRequests).toBe(1);
    expect(defaultCB.intervalMs).toBe(0);
    expect(defaultCB.timeoutMs).toBe(60_000);
    expect(defaultCB.readyToTrip).toBeDefined();
    expect(defaultCB.onStateChange).toBeUndefined();
    expect(defaultCB.state).toBe('closed');
    expect(defaultCB.counts).toEqual(counts());
    expect(defaultCB.expiry).toBe(0);

    const { cb: customCB } = newCustomTracked();
    expect(customCB.name).toBe('cb');
    expect(customCB.maxRequests).toBe(3);
    expect(customCB.intervalMs).toBe(30_000);
    expect(customCB.timeoutMs).toBe(90_000);
    expect(customCB.onStateChange).toBeDefined();
    expect(customCB.state).toBe('closed');
    expect(customCB.counts).toEqual(counts());
    expect(customCB.expiry).not.toBe(0);

    const { cb: rollingWindowCB } = make({
      name: 'rw',
      maxRequests: 3,
      intervalMs: 30_000,
      bucketPeriodMs: 3_000,
      timeoutMs: 90_000,
    });
    expect(rollingWindowCB.intervalMs).toBe(30_000);
    expect(rollingWindowCB.numBuckets).toBe(10);
    expect(rollingWindowCB.timeoutMs).toBe(90_000);
    expect(rollingWindowCB.onStateChange).toBeUndefined();
    expect(rollingWindowCB.state).toBe('closed');
    expect(rollingWindowCB.counts).toEqual(counts());
    expect(rollingWindowCB.expiry).toBe(0);

    // gobreaker maps negative durations to defaults; our contract rejects them at creation.
    expect(() => make({ name: 'ncb', intervalMs: -30_000 })).toThrow(/intervalMs/);
    expect(() => make({ name: 'ncb', timeoutMs: -90_000 })).toThrow(/timeoutMs/);
    const { cb: zeroCB } = make({ name: 'ncb', intervalMs: 0, timeoutMs: 0 });
    expect(zeroCB.maxRequests).toBe(1);
    expect(zeroCB.intervalMs).toBe(0);
    expect(zeroCB.timeoutMs).toBe(60_000);
    expect(zeroCB.expiry).toBe(0);
  });

  test('TestDefaultCircuitBreaker', async () => {
    const h = make(defaultSettings());
    const cb = h.cb;
    for (let i = 0; i < 5; i++) expect(await fail(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(counts({ requests: 5, totalFailures: 5, consecutiveFailures: 5 }));

    expect(await succeed(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(
      counts({ requests: 6, totalSuccesses: 1, totalFailures: 5, consecutiveSuccesses: 1 }),
    );

    expect(await fail(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(
      counts({ requests: 7, totalSuccesses: 1, totalFailures: 6, consecutiveFailures: 1 }),
    );

    for (let i = 0; i < 5; i++) expect(await fail(cb)).toBeUndefined(); // 6 consecutive failures
    expect(cb.state).toBe('open');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).not.toBe(0);

    expect(await succeed(cb)).toBeInstanceOf(Error);
    expect(await fail(cb)).toBeInstanceOf(Error);
    expect(cb.counts).toEqual(counts());

    pseudoSleep(h, 59_000);
    expect(cb.state).toBe('open');

    pseudoSleep(h, 2_000); // over Timeout
    expect(cb.state).toBe('half-open');
    expect(cb.expiry).toBe(0);

    expect(await fail(cb)).toBeUndefined();
    expect(cb.state).toBe('open');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).not.toBe(0);

    pseudoSleep(h, 60_000);
    expect(cb.state).toBe('half-open');
    expect(cb.expiry).toBe(0);

    expect(await succeed(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).toBe(0);
  });

  test('TestCustomCircuitBreaker', async () => {
    const h = newCustomTracked();
    const cb = h.cb;
    expect(cb.name).toBe('cb');
    for (let i = 0; i < 5; i++) {
      expect(await succeed(cb)).toBeUndefined();
      expect(await fail(cb)).toBeUndefined();
      expect(await exclude(cb)).toBeUndefined();
    }
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(
      counts({
        requests: 15,
        totalSuccesses: 5,
        totalFailures: 5,
        consecutiveFailures: 1,
        totalExclusions: 5,
      }),
    );

    pseudoSleep(h, 29_000);
    expect(await succeed(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(
      counts({
        requests: 16,
        totalSuccesses: 6,
        totalFailures: 5,
        consecutiveSuccesses: 1,
        totalExclusions: 5,
      }),
    );

    pseudoSleep(h, 1_000); // over Interval
    expect(await fail(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));

    expect(await succeed(cb)).toBeUndefined();
    expect(await fail(cb)).toBeUndefined(); // failure ratio: 2/3 >= 0.6
    expect(cb.state).toBe('open');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).not.toBe(0);
    expect(h.stateChange).toEqual({ name: 'cb', from: 'closed', to: 'open' });

    pseudoSleep(h, 90_000);
    expect(cb.state).toBe('half-open');
    expect(cb.expiry).toBe(0);
    expect(h.stateChange).toEqual({ name: 'cb', from: 'open', to: 'half-open' });

    // Excluded requests are neutral in half-open: (requests − exclusions) < maxRequests.
    for (let i = 0; i < 4; i++) expect(await exclude(cb)).toBeUndefined();
    expect(cb.state).toBe('half-open');

    expect(await fail(cb)).toBeUndefined();
    expect(cb.state).toBe('open');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).not.toBe(0);
    expect(h.stateChange).toEqual({ name: 'cb', from: 'half-open', to: 'open' });

    pseudoSleep(h, 90_000);
    expect(cb.state).toBe('half-open');

    expect(await succeed(cb)).toBeUndefined();
    expect(await succeed(cb)).toBeUndefined();
    expect(cb.state).toBe('half-open');
    expect(cb.counts).toEqual(counts({ requests: 2, totalSuccesses: 2, consecutiveSuccesses: 2 }));

    const later = succeedLater(cb); // 3 consecutive successes
    expect(cb.counts).toEqual(counts({ requests: 3, totalSuccesses: 2, consecutiveSuccesses: 2 }));
    expect(await succeed(cb)).toBeInstanceOf(TooManyRequestsError); // over MaxRequests
    later.release();
    expect(await later.done).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).not.toBe(0);
    expect(h.stateChange).toEqual({ name: 'cb', from: 'half-open', to: 'closed' });
  });

  test('TestRollingWindowCircuitBreaker', async () => {
    const h = newRollingWindowTracked();
    const cb = h.cb;
    expect(cb.name).toBe('rw');
    for (let i = 0; i < 5; i++) {
      expect(await succeed(cb)).toBeUndefined();
      expect(await fail(cb)).toBeUndefined();
      expect(await exclude(cb)).toBeUndefined();
    }
    const first = counts({
      requests: 15,
      totalSuccesses: 5,
      totalFailures: 5,
      consecutiveFailures: 1,
      totalExclusions: 5,
    });
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(first);
    expect(cb.numBuckets).toBe(10);
    expect(cb.bucketAt(0)).toEqual(first);

    pseudoSleep(h, 3_000);
    expect(await succeed(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(
      counts({
        requests: 16,
        totalSuccesses: 6,
        totalFailures: 5,
        consecutiveSuccesses: 1,
        totalExclusions: 5,
      }),
    );
    expect(cb.bucketAt(-1)).toEqual(first);
    expect(cb.bucketAt(0)).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));

    pseudoSleep(h, 2_000);
    expect(await succeed(cb)).toBeUndefined();
    expect(await exclude(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(
      counts({
        requests: 18,
        totalSuccesses: 7,
        totalFailures: 5,
        consecutiveSuccesses: 2,
        totalExclusions: 6,
      }),
    );
    expect(cb.bucketAt(-1)).toEqual(first);
    const second = counts({ requests: 3, totalSuccesses: 2, consecutiveSuccesses: 2, totalExclusions: 1 });
    expect(cb.bucketAt(0)).toEqual(second);

    pseudoSleep(h, 2_000);
    const beforeAge = cb.age;
    expect(await exclude(cb)).toBeUndefined();
    expect(cb.age).toBeGreaterThan(beforeAge);
    expect(await succeed(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(
      counts({
        requests: 20,
        totalSuccesses: 8,
        totalFailures: 5,
        consecutiveSuccesses: 3,
        totalExclusions: 7,
      }),
    );
    const third = counts({ requests: 2, totalSuccesses: 1, consecutiveSuccesses: 1, totalExclusions: 1 });
    expect(cb.bucketAt(-2)).toEqual(first);
    expect(cb.bucketAt(-1)).toEqual(second);
    expect(cb.bucketAt(0)).toEqual(third);

    pseudoSleep(h, 2_000);
    expect(await fail(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(
      counts({
        requests: 21,
        totalSuccesses: 8,
        totalFailures: 6,
        consecutiveFailures: 1,
        totalExclusions: 7,
      }),
    );
    expect(cb.bucketAt(-3)).toEqual(first);
    expect(cb.bucketAt(-2)).toEqual(second);
    expect(cb.bucketAt(-1)).toEqual(third);
    expect(cb.bucketAt(0)).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));

    for (let i = 0; i < 6; i++) {
      pseudoSleep(h, 3_000);
      expect(await succeed(cb)).toBeUndefined();
      expect(await fail(cb)).toBeUndefined();
      expect(cb.counts).toEqual(
        counts({
          requests: 23 + 2 * i,
          totalSuccesses: 9 + i,
          totalFailures: 7 + i,
          consecutiveFailures: 1,
          totalExclusions: 7,
        }),
      );
    }
    expect(cb.numBuckets).toBe(10);

    // first bucket should be discarded
    pseudoSleep(h, 3_000);
    expect(await fail(cb)).toBeUndefined();
    expect(cb.counts).toEqual(
      counts({
        requests: 19,
        totalSuccesses: 9,
        totalFailures: 8,
        consecutiveFailures: 2,
        totalExclusions: 2,
      }),
    );

    for (let i = 0; i < 5; i++) {
      expect(await fail(cb)).toBeUndefined();
      expect(cb.counts).toEqual(
        counts({
          requests: 20 + i,
          totalSuccesses: 9,
          totalFailures: 9 + i,
          consecutiveFailures: 3 + i,
          totalExclusions: 2,
        }),
      );
    }
    expect(cb.state).toBe('closed');

    expect(await fail(cb)).toBeUndefined(); // failureRate = 14/23 > 0.6
    expect(cb.state).toBe('open');
    expect(cb.expiry).not.toBe(0);
    expect(h.stateChange).toEqual({ name: 'rw', from: 'closed', to: 'open' });

    pseudoSleep(h, 90_000);
    expect(cb.state).toBe('half-open');
    expect(cb.expiry).toBe(0);
    expect(h.stateChange).toEqual({ name: 'rw', from: 'open', to: 'half-open' });

    expect(await succeed(cb)).toBeUndefined();
    expect(await succeed(cb)).toBeUndefined();
    expect(cb.state).toBe('half-open');
    expect(cb.counts).toEqual(counts({ requests: 2, totalSuccesses: 2, consecutiveSuccesses: 2 }));

    const later = succeedLater(cb);
    expect(cb.counts).toEqual(counts({ requests: 3, totalSuccesses: 2, consecutiveSuccesses: 2 }));
    expect(await succeed(cb)).toBeInstanceOf(TooManyRequestsError);
    later.release();
    expect(await later.done).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).toBe(0);
    expect(h.stateChange).toEqual({ name: 'rw', from: 'half-open', to: 'closed' });
  });

  test('TestPanicInRequest: a synchronous throw is a failure and is re-thrown', async () => {
    const { cb } = make(defaultSettings());
    const oops = new Error('oops');
    await expect(
      cb.execute(() => {
        throw oops;
      }),
    ).rejects.toBe(oops);
    expect(cb.counts).toEqual(counts({ requests: 1, totalFailures: 1, consecutiveFailures: 1 }));
  });

  test('TestGeneration: a result from an older generation is ignored', async () => {
    const h = newCustomTracked();
    const cb = h.cb;
    pseudoSleep(h, 29_000);
    expect(await succeed(cb)).toBeUndefined();
    const later = succeedLater(cb);
    pseudoSleep(h, 500);
    expect(cb.counts).toEqual(counts({ requests: 2, totalSuccesses: 1, consecutiveSuccesses: 1 }));

    pseudoSleep(h, 500); // over Interval
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(counts());

    later.release();
    expect(await later.done).toBeUndefined();
    expect(cb.counts).toEqual(counts());
  });

  test('TestCustomIsSuccessful', async () => {
    const { cb } = make({ name: 'x', isSuccessful: () => true });
    for (let i = 0; i < 5; i++) expect(await fail(cb)).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(counts({ requests: 5, totalSuccesses: 5, consecutiveSuccesses: 5 }));

    const { cb: strict } = make({ name: 'y', isSuccessful: (err) => err === undefined });
    for (let i = 0; i < 6; i++) expect(await fail(strict)).toBeUndefined();
    expect(strict.state).toBe('open');
  });

  test('TestCircuitBreakerInParallel: 100 000 concurrent calls give exact counts', async () => {
    const { cb } = newCustomTracked();
    let successCount = 0;
    let excludeCount = 0;
    const calls: Promise<unknown>[] = [];
    for (let r = 0; r < 10; r++) {
      for (let i = 0; i < 10_000; i++) {
        if (i % 2 === 0) {
          calls.push(succeed(cb));
          successCount++;
        } else {
          calls.push(exclude(cb));
          excludeCount++;
        }
      }
    }
    const results = await Promise.all(calls);
    expect(results.every((e) => e === undefined)).toBe(true);
    expect(cb.counts).toEqual(
      counts({
        requests: 100_000,
        totalSuccesses: successCount,
        consecutiveSuccesses: successCount,
        totalExclusions: excludeCount,
      }),
    );
  });

  test('TestExcludeAndIsSuccessfulCombination', async () => {
    const { cb } = make({
      name: 'c',
      isExcluded: (err) => err === errExcluded,
      isSuccessful: (err) => err === undefined,
    });
    for (let i = 0; i < 3; i++) expect(await exclude(cb)).toBeUndefined();
    expect(cb.counts).toEqual(counts({ requests: 3, totalExclusions: 3 }));
    for (let i = 0; i < 3; i++) expect(await succeed(cb)).toBeUndefined();
    expect(cb.counts).toEqual(
      counts({ requests: 6, totalSuccesses: 3, consecutiveSuccesses: 3, totalExclusions: 3 }),
    );
    for (let i = 0; i < 2; i++) expect(await fail(cb)).toBeUndefined();
    expect(cb.counts).toEqual(
      counts({
        requests: 8,
        totalSuccesses: 3,
        totalFailures: 2,
        consecutiveFailures: 2,
        totalExclusions: 3,
      }),
    );
  });

  test('TestRollingWindowCircuitBreakerInParallel', async () => {
    const { cb } = newRollingWindowTracked();
    const calls: Promise<unknown>[] = [];
    for (let g = 0; g < 12; g++) {
      for (let j = 0; j < 100; j++) {
        calls.push(j % 3 === 0 ? succeed(cb) : j % 3 === 1 ? fail(cb) : exclude(cb));
      }
    }
    const results = await Promise.all(calls);
    expect(results.every((e) => e === undefined)).toBe(true);
    // j % 3 over 0..99 gives 34 successes, 33 failures and 33 exclusions per "goroutine".
    expect(cb.counts).toMatchObject({
      requests: 1200,
      totalSuccesses: 408,
      totalFailures: 396,
      totalExclusions: 396,
    });
    expect(cb.state).toBe('closed');
  });

  test('TestTwoStepCircuitBreaker', async () => {
    const h = make({ name: 'tscb', maxRequests: 2, isSuccessful: isSuccessfulNilOnly });
    const cb = h.cb;
    const step = (outcome: 'success' | 'failure' | 'excluded'): unknown => {
      try {
        cb.allow()(outcome);
        return undefined;
      } catch (err: unknown) {
        return err;
      }
    };
    expect(cb.name).toBe('tscb');
    for (let i = 0; i < 5; i++) expect(step('failure')).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(counts({ requests: 5, totalFailures: 5, consecutiveFailures: 5 }));

    expect(step('success')).toBeUndefined();
    expect(cb.counts).toEqual(
      counts({ requests: 6, totalSuccesses: 1, totalFailures: 5, consecutiveSuccesses: 1 }),
    );
    expect(step('failure')).toBeUndefined();
    expect(cb.counts).toEqual(
      counts({ requests: 7, totalSuccesses: 1, totalFailures: 6, consecutiveFailures: 1 }),
    );

    for (let i = 0; i < 5; i++) expect(step('failure')).toBeUndefined();
    expect(cb.state).toBe('open');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).not.toBe(0);

    expect(step('success')).toBeInstanceOf(Error);
    expect(step('failure')).toBeInstanceOf(Error);
    expect(step('excluded')).toBeInstanceOf(Error);
    expect(cb.counts).toEqual(counts());

    pseudoSleep(h, 59_000);
    expect(cb.state).toBe('open');
    pseudoSleep(h, 1_000);
    expect(cb.state).toBe('half-open');
    expect(cb.expiry).toBe(0);

    // At capacity in half-open, others get TooManyRequests; excluded completions free the slots.
    const pending = [cb.allow(), cb.allow()];
    expect(step('failure')).toBeInstanceOf(TooManyRequestsError);
    expect(step('success')).toBeInstanceOf(TooManyRequestsError);
    pending.forEach((done) => done('excluded'));
    expect(step('success')).toBeUndefined();

    expect(step('failure')).toBeUndefined();
    expect(cb.state).toBe('open');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).not.toBe(0);

    pseudoSleep(h, 60_000);
    expect(cb.state).toBe('half-open');
    expect(cb.expiry).toBe(0);
    expect(step('success')).toBeUndefined();
    expect(step('success')).toBeUndefined();
    expect(cb.state).toBe('closed');
    expect(cb.counts).toEqual(counts());
    expect(cb.expiry).toBe(0);
  });
});

describe('gobreaker v2.4 counter_test port (RollingCounts)', () => {
  test('TestCountsMethods', () => {
    const c = new RollingCounts(1);
    c.onRequest();
    expect(c.snapshot()).toEqual(counts({ requests: 1 }));
    c.onSuccess(0);
    expect(c.snapshot()).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));
    c.onRequest();
    c.onSuccess(0);
    expect(c.snapshot()).toEqual(counts({ requests: 2, totalSuccesses: 2, consecutiveSuccesses: 2 }));
    c.onRequest();
    c.onFailure(0);
    expect(c.snapshot()).toEqual(
      counts({ requests: 3, totalSuccesses: 2, totalFailures: 1, consecutiveFailures: 1 }),
    );
    c.onRequest();
    c.onFailure(0);
    expect(c.snapshot()).toEqual(
      counts({ requests: 4, totalSuccesses: 2, totalFailures: 2, consecutiveFailures: 2 }),
    );
    c.onRequest();
    c.onExclusion(0);
    expect(c.snapshot()).toEqual(
      counts({
        requests: 5,
        totalSuccesses: 2,
        totalFailures: 2,
        consecutiveFailures: 2,
        totalExclusions: 1,
      }),
    );
    expect(c.validRequests()).toBe(4);
    c.clear();
    expect(c.snapshot()).toEqual(counts());
  });

  test('TestNewRollingCounts', () => {
    expect(new RollingCounts(-1).buckets).toHaveLength(0);
    expect(new RollingCounts(0).buckets).toHaveLength(0);
    const rc = new RollingCounts(5);
    expect(rc.age).toBe(0);
    expect(rc.buckets).toHaveLength(5);
    rc.buckets.forEach((b) => expect(b).toEqual(counts()));
    expect(rc.snapshot()).toEqual(counts());
  });

  test('TestRollingCountsIndex and Current', () => {
    expect(new RollingCounts(0).index(1)).toBe(0);
    const rc = new RollingCounts(5);
    expect([0, 1, 2, 3, 4, 5, 6].map((a) => rc.index(a))).toEqual([0, 1, 2, 3, 4, 0, 1]);
    const empty = new RollingCounts(0);
    empty.roll();
    expect(empty.current()).toBe(0);
    const seen: number[] = [rc.current()];
    for (let i = 0; i < 6; i++) {
      rc.roll();
      seen.push(rc.current());
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 0, 1]);
  });

  test('TestRollingCountsMethods', () => {
    const rc = new RollingCounts(2);
    rc.onRequest();
    rc.onSuccess(0);
    rc.onRequest();
    rc.onFailure(0);
    rc.onRequest();
    rc.onSuccess(0);
    rc.onRequest();
    rc.onExclusion(0);
    const b0 = counts({
      requests: 4,
      totalSuccesses: 2,
      totalFailures: 1,
      consecutiveSuccesses: 1,
      totalExclusions: 1,
    });
    expect(rc.snapshot()).toEqual(b0);
    expect(rc.buckets[rc.index(0)]).toEqual(b0);
    expect(rc.buckets[rc.index(1)]).toEqual(counts());

    rc.roll();
    expect(rc.age).toBe(1);
    expect(rc.snapshot()).toEqual(b0);
    rc.onRequest();
    rc.onSuccess(1);
    expect(rc.snapshot()).toEqual(
      counts({
        requests: 5,
        totalSuccesses: 3,
        totalFailures: 1,
        consecutiveSuccesses: 2,
        totalExclusions: 1,
      }),
    );
    expect(rc.buckets[rc.index(1)]).toEqual(
      counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }),
    );

    rc.roll();
    expect(rc.age).toBe(2);
    expect(rc.snapshot()).toEqual(counts({ requests: 1, totalSuccesses: 1, consecutiveSuccesses: 1 }));
    expect(rc.buckets[rc.index(0)]).toEqual(counts());

    rc.clear();
    expect(rc.age).toBe(0);
    expect(rc.snapshot()).toEqual(counts());
  });

  test('TestRollingCountsGrow', () => {
    const rc = new RollingCounts(2);
    const fill = (age: number): void => {
      rc.onRequest();
      rc.onSuccess(age);
      rc.onRequest();
      rc.onFailure(age);
      rc.onRequest();
      rc.onExclusion(age);
    };
    fill(0);
    const all = counts({
      requests: 3,
      totalSuccesses: 1,
      totalFailures: 1,
      consecutiveFailures: 1,
      totalExclusions: 1,
    });
    rc.grow(0);
    expect(rc.age).toBe(0);
    expect(rc.snapshot()).toEqual(all);
    expect(rc.bucketAt(0)).toEqual(all);
    expect(rc.bucketAt(1)).toEqual(counts());

    rc.grow(1);
    expect(rc.age).toBe(1);
    expect(rc.snapshot()).toEqual(all);
    expect(rc.bucketAt(0)).toEqual(counts());
    expect(rc.bucketAt(1)).toEqual(all);

    rc.grow(0);
    expect(rc.age).toBe(1);

    rc.grow(2);
    expect(rc.age).toBe(2);
    expect(rc.snapshot()).toEqual(counts());

    fill(0); // too old: only requests count
    expect(rc.snapshot()).toEqual(counts({ requests: 3 }));
    fill(3); // from the future: ignored
    expect(rc.snapshot()).toEqual(counts({ requests: 6 }));
    fill(1); // previous bucket, still in the window
    expect(rc.snapshot()).toEqual(
      counts({
        requests: 9,
        totalSuccesses: 1,
        totalFailures: 1,
        consecutiveFailures: 1,
        totalExclusions: 1,
      }),
    );
    expect(rc.bucketAt(0)).toEqual(counts({ requests: 9 }));
    expect(rc.bucketAt(1)).toEqual(
      counts({ totalSuccesses: 1, totalFailures: 1, consecutiveFailures: 1, totalExclusions: 1 }),
    );
    fill(2);
    expect(rc.snapshot()).toEqual(
      counts({
        requests: 12,
        totalSuccesses: 2,
        totalFailures: 2,
        consecutiveFailures: 1,
        totalExclusions: 2,
      }),
    );

    rc.grow(4);
    expect(rc.age).toBe(4);
    expect(rc.snapshot()).toEqual(counts());
  });

  test('TestRollingCountsBucketAt and TestEmptyRollingCounts', () => {
    const rc = new RollingCounts(2);
    rc.onRequest();
    rc.onFailure(0);
    rc.onRequest();
    expect(rc.bucketAt(2)).toEqual(counts({ requests: 2, totalFailures: 1, consecutiveFailures: 1 }));
    expect(rc.bucketAt(3)).toEqual(counts());
    rc.onSuccess(0);
    expect(rc.bucketAt(-2)).toEqual(
      counts({ requests: 2, totalSuccesses: 1, totalFailures: 1, consecutiveSuccesses: 1 }),
    );
    expect(rc.bucketAt(-3)).toEqual(counts());
    rc.onRequest();
    rc.onFailure(0);
    rc.roll();
    rc.onRequest();
    rc.onFailure(1);
    expect(rc.snapshot()).toEqual(
      counts({ requests: 4, totalSuccesses: 1, totalFailures: 3, consecutiveFailures: 2 }),
    );
    rc.onRequest();
    rc.onExclusion(0);
    expect(rc.bucketAt(1)).toEqual(
      counts({
        requests: 3,
        totalSuccesses: 1,
        totalFailures: 2,
        consecutiveFailures: 1,
        totalExclusions: 1,
      }),
    );
    rc.roll();
    expect(rc.age).toBe(2);
    expect(rc.snapshot()).toEqual(counts({ requests: 2, totalFailures: 1, consecutiveFailures: 1 }));

    const empty = new RollingCounts(0);
    empty.subtract(0);
    expect(empty.bucketAt(0)).toEqual(counts());
  });
});
