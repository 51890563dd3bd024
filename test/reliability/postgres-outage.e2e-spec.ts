import { describeOnRealPostgres, testDatabaseUrl } from '../support/postgres';
import { countByStatus, startLoad, waitUntil, type LoadOutcome } from './support/load';
import { startOrchestratorUnderTest } from './support/orchestrator';
import { startPaymentUnderTest, startTpgUnderTest, type ServiceUnderTest } from './support/services';
import { TcpFaultProxy, targetOf } from './support/tcp-fault-proxy';

/**
 * Postgres behind a TCP proxy the test controls: refused, back, stalled (accepts, forwards
 * nothing), back — under a steady write load. Readiness turns 503 within seconds, writes fail
 * with 503 + Retry-After within a bound (never hang, never 500), the service recovers by itself,
 * and after the failed writes are retried every key is stored exactly once, none half-written.
 */
const CONCURRENCY = 4;
/** Longest a write may take while the database is refused or stalled (connect 500 + queries 800 each). */
const WRITE_BOUND_MS = 5000;
const READY_BOUND_MS = 5000;
/** Clients retrying the keys that failed in the outage, the pause between tries, and how long a key may take. */
const RETRY_CLIENTS = 8;
const RETRY_PAUSE_MS = 100;
const RETRY_DEADLINE_MS = 15_000;

async function ready(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(3000) })).status;
  } catch {
    return 0;
  }
}

interface Report {
  service: string;
  requests: number;
  byStatus: Record<string, number>;
  readyDownMs: { refused: number; stalled: number };
  recoveredMs: { refused: number; stalled: number };
  retried: number;
  losses: number;
}
const reports: Report[] = [];

async function outageScenario(start: (databaseUrl: string) => Promise<ServiceUnderTest>): Promise<Report> {
  const proxy = await TcpFaultProxy.start(targetOf(testDatabaseUrl()));
  const service = await start(proxy.rewrite(testDatabaseUrl()));
  const run = `${service.name.slice(0, 3)}-${Date.now().toString(36)}`;
  const faultWindows: Array<{ from: number; to: number; kind: string }> = [];
  try {
    const load = startLoad(CONCURRENCY, (n) => service.write(`${run}-${n}`));
    await waitUntil('first writes', () => load.outcomes.filter((o) => o.status < 300).length >= 8);

    const windows = { refused: 0, stalled: 0 };
    const recovered = { refused: 0, stalled: 0 };
    for (const kind of ['refused', 'stalled'] as const) {
      const from = Date.now();
      if (kind === 'refused') await proxy.refuse();
      else proxy.stall();
      windows[kind] = await waitUntil(
        `${kind}: ready 503`,
        async () => (await ready(service.url)) === 503,
        READY_BOUND_MS,
      );
      // Keep the fault until writes that started well inside it (after its first second) have been
      // answered, so the window the assertions below look at is never empty on a fast or slow run.
      await waitUntil(
        `${kind}: writes answered during the outage`,
        () => load.outcomes.filter((o) => o.startedAt > from + 1000).length >= 2 * CONCURRENCY,
      );
      await proxy.forward();
      faultWindows.push({ from, to: Date.now(), kind });
      recovered[kind] = await waitUntil(
        `${kind}: ready again`,
        async () => (await ready(service.url)) === 200,
        15_000,
      );
      const okBefore = load.outcomes.filter((o) => o.status < 300).length;
      await waitUntil(
        `${kind}: writes succeed again`,
        () => load.outcomes.filter((o) => o.status < 300).length >= okBefore + 4,
        15_000,
      );
    }
    const outcomes = await load.stop();

    // Every answer is a success or a 503 with Retry-After; no 500, no dropped connection, no hang.
    const bad = outcomes.filter(
      (o) => !(o.status >= 200 && o.status < 300) && !(o.status === 503 && o.retryAfter !== null),
    );
    expect(bad.map((o) => ({ key: o.key, status: o.status, error: o.error, body: o.body }))).toEqual([]);
    expect(Math.max(...outcomes.map((o) => o.elapsedMs))).toBeLessThan(WRITE_BOUND_MS);
    // Writes started inside an outage window (after the first second) failed rather than waited.
    const during = outcomes.filter((o) =>
      faultWindows.some((w) => o.startedAt > w.from + 1000 && o.startedAt + o.elapsedMs < w.to),
    );
    expect(during.length).toBeGreaterThan(0);
    expect(during.every((o) => o.status === 503)).toBe(true);
    const unavailable = outcomes.find((o) => o.status === 503);
    expect(unavailable?.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable' });

    // The client retries what failed; then every key is stored exactly once, none left mid-flight.
    const keys = [...new Set(outcomes.map((o) => o.key))];
    const failed = keys.filter((key) => !outcomes.some((o) => o.key === key && o.status < 300));
    // A key still leased by a request the outage cut off answers 409 "retry shortly" until the lease ends.
    const retries: LoadOutcome[] = [];
    const finals: LoadOutcome[] = [];
    // RETRY_CLIENTS clients work through the failed keys, each pausing between tries of a key, as
    // well-behaved clients do: hundreds of keys polled at once would be a retry storm that starves
    // the very requests holding the keys (measured: 409s for 10 s on a loaded machine).
    const pending = [...failed];
    await Promise.all(
      Array.from({ length: RETRY_CLIENTS }, async () => {
        for (let key = pending.shift(); key !== undefined; key = pending.shift()) {
          let outcome = await service.write(key);
          retries.push(outcome);
          const deadline = Date.now() + RETRY_DEADLINE_MS;
          while ((outcome.status === 409 || outcome.status === 503) && Date.now() < deadline) {
            await new Promise((resolve) => setTimeout(resolve, RETRY_PAUSE_MS));
            outcome = await service.write(key);
            retries.push(outcome);
          }
          finals.push(outcome);
        }
      }),
    );
    // 409 and 503 both told the client when to come back.
    expect(retries.filter((o) => (o.status === 409 || o.status === 503) && o.retryAfter === null)).toEqual(
      [],
    );
    expect(finals.filter((o) => o.status >= 300)).toEqual([]);
    expect(retries.filter((o) => o.status >= 500 && o.status !== 503)).toEqual([]);
    const rows = await service.rowsFor(keys);
    const losses = keys.filter((key) => rows.get(key) !== 1);
    expect(losses).toEqual([]);
    await waitUntil(
      'no entity left mid-flight',
      async () => (await service.unsettled(keys)).length === 0,
      15_000,
    );
    const creates = service.downstreamCreates?.();
    if (creates) expect([...creates.values()].filter((n) => n > 1)).toEqual([]);

    return {
      service: service.name,
      requests: outcomes.length + retries.length,
      byStatus: countByStatus([...outcomes, ...retries]),
      readyDownMs: windows,
      recoveredMs: recovered,
      retried: failed.length,
      losses: losses.length,
    };
  } finally {
    await proxy.forward();
    await service.close();
    await proxy.close();
  }
}

describeOnRealPostgres(
  'a stalled connection blocks the one PGlite session for every suite; run with DATABASE_URL',
)('Postgres unreachable, then stalled, under write load', () => {
  afterAll(() => {
    // One line per service: the figures RELIABILITY.md quotes.
    for (const report of reports) console.log(`[postgres-outage] ${JSON.stringify(report)}`);
  });

  it('taxi-partner-gateway: 503 + Retry-After, ready 503, recovers, nothing lost or doubled', async () => {
    reports.push(await outageScenario((url) => startTpgUnderTest(url)));
  }, 60_000);

  it('payment-processor: 503 + Retry-After, ready 503, recovers, nothing lost or doubled', async () => {
    reports.push(await outageScenario((url) => startPaymentUnderTest(url)));
  }, 60_000);

  it('order-orchestrator: 503 + Retry-After, ready 503, recovers, no order without its outbox entry', async () => {
    reports.push(await outageScenario((url) => startOrchestratorUnderTest(url)));
  }, 60_000);
});
