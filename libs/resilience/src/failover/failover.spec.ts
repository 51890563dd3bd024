import { Registry } from 'prom-client';
import { TooManyRequestsError } from '../errors/too-many-requests.error';
import { HttpClientError } from '../http/http-client.error';
import { HttpConnectionError } from '../http/http-connection.error';
import { HttpServerError } from '../http/http-server.error';
import { ResilientHttpClient } from '../http/resilient-http.client';
import { OpenBreaker, PassThroughBreaker } from '../http/testing/breaker.doubles';
import { closedPort, startTestServer } from '../http/testing/test-server';
import { AllProvidersFailedError } from './all-providers-failed.error';
import { defaultFailureClass, failover } from './failover';
import type { FailoverProvider } from './failover.types';

const quietLogger = { log: () => {}, error: () => {}, warn: jest.fn(), debug: () => {} };

async function failovers(registry: Registry): Promise<Record<string, number>> {
  const json = await registry.getSingleMetric('provider_failovers_total')?.get();
  return Object.fromEntries(
    (json?.values ?? []).map((v) => [`${v.labels.group}:${v.labels.from}->${v.labels.to}`, v.value]),
  );
}

function provider(
  name: string,
  call: (signal: AbortSignal) => Promise<string>,
  extra: Partial<FailoverProvider<string>> = {},
): FailoverProvider<string> & { breaker: PassThroughBreaker } {
  return {
    name,
    breaker: new PassThroughBreaker(name),
    call: jest.fn(call),
    ...extra,
  } as FailoverProvider<string> & {
    breaker: PassThroughBreaker;
  };
}

async function failure(promise: Promise<unknown>): Promise<AllProvidersFailedError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AllProvidersFailedError);
  return err as AllProvidersFailedError;
}

describe('failover', () => {
  let registry: Registry;
  beforeEach(() => {
    registry = new Registry();
  });

  it('returns the first provider that succeeds, in order, through its breaker', async () => {
    const a = provider('a', async () => 'A');
    const b = provider('b', async () => 'B');
    const result = await failover([a, b], { group: 'pay', registry });
    expect(result).toMatchObject({
      value: 'A',
      provider: 'a',
      attempts: [{ provider: 'a', outcome: 'success' }],
    });
    expect(a.breaker.calls).toBe(1);
    expect(b.call).not.toHaveBeenCalled();
    expect(await failovers(registry)).toEqual({});
  });

  it('moves on after a safe failure, recording the attempt and the failover metric', async () => {
    const a = provider('a', () => Promise.reject(new HttpServerError('a', 503, 'busy')));
    const b = provider('b', async () => 'B');
    const result = await failover([a, b], { group: 'pay', registry });
    expect(result.value).toBe('B');
    expect(result.attempts).toEqual([
      { provider: 'a', outcome: 'failure', error: 'a answered 503', durationMs: expect.any(Number) },
      { provider: 'b', outcome: 'success', durationMs: expect.any(Number) },
    ]);
    expect(a.breaker.counts.totalFailures).toBe(1);
    expect(await failovers(registry)).toEqual({ 'pay:a->b': 1 });
  });

  it('skips an open breaker without calling it, and records a rejection raised during execute', async () => {
    const open = { name: 'a', breaker: new OpenBreaker('payment-a', 7_000), call: jest.fn(async () => 'A') };
    const racing = {
      name: 'b',
      breaker: new OpenBreaker('payment-b', 3_000, 'closed'),
      call: jest.fn(async () => 'B'),
    };
    const c = provider('c', async () => 'C');
    const result = await failover([open, racing, c], { group: 'pay', registry });
    expect(result.value).toBe('C');
    expect(result.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ['a', 'skipped'],
      ['b', 'rejected'],
      ['c', 'success'],
    ]);
    expect(open.breaker.calls).toBe(0);
    expect(open.call).not.toHaveBeenCalled();
    expect(racing.call).not.toHaveBeenCalled();
    expect(result.attempts[1].error).toMatch(/open/);
    expect(await failovers(registry)).toEqual({ 'pay:a->b': 1, 'pay:b->c': 1 });
  });

  it('throws AllProvidersFailedError with every attempt and the smallest retryAfterMs of open breakers', async () => {
    const providers: FailoverProvider<string>[] = [
      { name: 'a', breaker: new OpenBreaker('a', 9_000), call: async () => 'A' },
      { name: 'b', breaker: new OpenBreaker('b', 4_000, 'closed'), call: async () => 'B' },
      provider('c', () => Promise.reject(new HttpConnectionError('c', 'refused', false, 'ECONNREFUSED'))),
    ];
    const err = await failure(failover(providers, { group: 'pay', registry }));
    expect(err.group).toBe('pay');
    expect(err.retryAfterMs).toBe(4_000);
    expect(err.attempts.map((a) => a.outcome)).toEqual(['skipped', 'rejected', 'failure']);
    expect(err.attempts[2].error).toMatch(/refused/);
    expect(await failovers(registry)).toEqual({ 'pay:a->b': 1, 'pay:b->c': 1 });

    const noneOpen = await failure(
      failover([provider('x', () => Promise.reject(new Error('boom')))], { registry }),
    );
    expect(noneOpen.retryAfterMs).toBeUndefined();
    expect(noneOpen.attempts).toMatchObject([
      { provider: 'x', outcome: 'failure', error: 'boom', unknownOutcome: true },
    ]);
  });

  it('classifies failures: safe to move on vs unknown outcome', () => {
    expect(defaultFailureClass(new HttpConnectionError('d', 'refused', false))).toBe('safe');
    expect(defaultFailureClass(new HttpConnectionError('d', 'dns', false))).toBe('safe');
    expect(defaultFailureClass(new HttpClientError('d', 429, {}))).toBe('safe');
    expect(defaultFailureClass(new HttpClientError('d', 400, {}))).toBe('safe');
    expect(defaultFailureClass(new HttpServerError('d', 500, {}))).toBe('safe');
    expect(defaultFailureClass(new TooManyRequestsError('d'))).toBe('safe');
    expect(defaultFailureClass(new HttpConnectionError('d', 'timeout', true))).toBe('unknown');
    expect(defaultFailureClass(new HttpConnectionError('d', 'reset', true))).toBe('unknown');
    expect(defaultFailureClass(new HttpConnectionError('d', 'aborted', true))).toBe('unknown');
    expect(defaultFailureClass(new HttpServerError('d', 504, {}))).toBe('unknown');
    expect(defaultFailureClass(new Error('?'))).toBe('unknown');
  });

  it('does not ask resolveUnknown after a safe failure', async () => {
    const resolveUnknown = jest.fn(async () => ({ outcome: 'absent' as const }));
    const a = provider('a', () => Promise.reject(new HttpClientError('a', 429, {})), { resolveUnknown });
    await failover([a, provider('b', async () => 'B')], { registry });
    expect(resolveUnknown).not.toHaveBeenCalled();
  });

  it('on an unknown outcome, takes the value resolveUnknown finds instead of moving on', async () => {
    const timeout = new HttpConnectionError('a', 'timeout', true);
    const resolveUnknown = jest.fn(async () => ({ outcome: 'found' as const, value: 'A-after-all' }));
    const a = provider('a', () => Promise.reject(timeout), { resolveUnknown });
    const b = provider('b', async () => 'B');
    const result = await failover([a, b], { group: 'pay', registry });
    expect(resolveUnknown).toHaveBeenCalledWith(timeout);
    expect(result).toMatchObject({ value: 'A-after-all', provider: 'a' });
    expect(result.attempts).toEqual([
      expect.objectContaining({
        provider: 'a',
        outcome: 'success',
        unknownOutcome: true,
        note: expect.stringMatching(/found/),
      }),
    ]);
    expect(b.call).not.toHaveBeenCalled();
    expect(await failovers(registry)).toEqual({});
  });

  it('moves on when resolveUnknown says absent, or throws (recorded)', async () => {
    const absent = provider('a', () => Promise.reject(new HttpConnectionError('a', 'reset', true)), {
      resolveUnknown: async () => ({ outcome: 'absent' }),
    });
    const broken = provider('b', () => Promise.reject(new HttpConnectionError('b', 'timeout', true)), {
      resolveUnknown: () => Promise.reject(new Error('status endpoint down')),
    });
    const c = provider('c', async () => 'C');
    const result = await failover([absent, broken, c], { group: 'pay', registry, logger: quietLogger });
    expect(result.value).toBe('C');
    expect(result.attempts.slice(0, 2)).toEqual([
      expect.objectContaining({
        provider: 'a',
        outcome: 'failure',
        unknownOutcome: true,
        note: expect.stringMatching(/absent/),
      }),
      expect.objectContaining({
        provider: 'b',
        outcome: 'failure',
        unknownOutcome: true,
        note: expect.stringMatching(/status endpoint down/),
      }),
    ]);
    expect(await failovers(registry)).toEqual({ 'pay:a->b': 1, 'pay:b->c': 1 });
  });

  it('uses a provider-specific classify', async () => {
    const resolveUnknown = jest.fn(async () => ({ outcome: 'absent' as const }));
    const a = provider('a', () => Promise.reject(new HttpServerError('a', 500, {})), {
      classify: () => 'unknown',
      resolveUnknown,
    });
    await failover([a, provider('b', async () => 'B')], { registry });
    expect(resolveUnknown).toHaveBeenCalledTimes(1);
  });

  it('stops trying providers once the caller aborts', async () => {
    const controller = new AbortController();
    const a = provider('a', async () => {
      controller.abort(new Error('client went away'));
      throw new HttpServerError('a', 500, {});
    });
    const b = provider('b', async () => 'B');
    await expect(failover([a, b], { registry, signal: controller.signal })).rejects.toThrow(
      'client went away',
    );
    expect(b.call).not.toHaveBeenCalled();
  });

  it('an abort during the last provider rejects with its reason, not AllProvidersFailedError', async () => {
    const controller = new AbortController();
    const a = provider('a', async () => {
      throw new HttpServerError('a', 503, {});
    });
    const b = provider('b', async () => {
      // e.g. the link was made but recording it failed: the caller must not report "all failed".
      controller.abort(new Error('could not record the attempt'));
      throw new HttpServerError('b', 500, {});
    });
    await expect(failover([a, b], { registry, signal: controller.signal })).rejects.toThrow(
      'could not record the attempt',
    );
  });

  describe('with real HTTP gateways', () => {
    it('a gateway that hangs past its breaker deadline is asked about the reference before moving on', async () => {
      const links = new Map<string, string>();
      const hanging = await startTestServer((req, res) => {
        if (req.method === 'POST') {
          links.set('ref-1', 'https://pay/ref-1'); // created, but the answer never comes
          return;
        }
        const url = links.get(req.url?.split('/').pop() ?? '');
        res.statusCode = url ? 200 : 404;
        res.end(JSON.stringify({ url }));
      });
      const refused = await closedPort();
      const second = await startTestServer((_req, res) => res.end(JSON.stringify({ url: 'https://second' })));
      const clientFor = (downstream: string, baseUrl: string) =>
        new ResilientHttpClient({ downstream, baseUrl, logger: quietLogger }); // no breaker: failover guards it
      const down = clientFor('gw-down', `http://127.0.0.1:${refused}`);
      const slow = clientFor('gw-slow', hanging.url);
      const other = clientFor('gw-other', second.url);
      try {
        const gateway = (
          name: string,
          client: ResilientHttpClient,
          timeoutMs?: number,
        ): FailoverProvider<string> => ({
          name,
          breaker: new PassThroughBreaker(`payment-${name}`, timeoutMs),
          call: async (signal) =>
            (await client.post<{ url: string }>('/links', { ref: 'ref-1' }, { signal })).data.url,
          resolveUnknown: async () => {
            try {
              return {
                outcome: 'found',
                value: (await client.get<{ url: string }>('/links/ref-1')).data.url,
              };
            } catch {
              return { outcome: 'absent' };
            }
          },
        });
        const result = await failover(
          [gateway('down', down), gateway('slow', slow, 50), gateway('other', other)],
          { group: 'payment', registry },
        );
        expect(result).toMatchObject({ value: 'https://pay/ref-1', provider: 'slow' });
        expect(result.attempts.map((a) => [a.provider, a.outcome, a.unknownOutcome])).toEqual([
          ['down', 'failure', undefined],
          ['slow', 'success', true],
        ]);
        expect(second.hits).toBe(0);
        expect(await failovers(registry)).toEqual({ 'payment:down->slow': 1 });
      } finally {
        [down, slow, other].forEach((c) => c.close());
        await Promise.all([hanging.close(), second.close()]);
      }
    });
  });
});
