/**
 * Scenario 4, end to end: `POST /orders` (online payment) through the orchestrator, session
 * manager, payment processor and TPG (+ simulators), closed loop with autocannon: all healthy,
 * then Midtrans answering 503 (payment fails over to Xendit), against a constant NestJS app on
 * the same route (the ceiling). Writes docs/benchmarks/e2e.md.
 * Run: npm run bench:e2e   (BENCH_QUICK=1 for the short version)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, runLoad, windowStats, type LoadResult } from './lib/load';
import { benchEnvironment, ROOT, setFault, sleep, startProcess } from './lib/processes';
import { startFullStack, type Stack } from './lib/stacks';
import { runAsScript, type ScenarioResult } from './lib/scenario';

const QUICK = process.env.BENCH_QUICK === '1';
const DURATION_S = QUICK ? 4 : 20;
const CONNECTIONS = Number(process.env.BENCH_E2E_CONNECTIONS ?? 10);
const SESSIONS = QUICK ? 40 : 200;
const OUT = join(ROOT, 'docs', 'benchmarks');

interface Row {
  label: string;
  result: LoadResult;
}

/** Creates sessions for users u-bench-0…; returns [sessionId, userId] pairs. */
export async function createSessions(smUrl: string, count: number): Promise<[string, string][]> {
  const sessions: [string, string][] = [];
  for (let i = 0; i < count; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, async (_, j) => {
        const userId = `u-bench-${i + j}`;
        const res = await fetch(`${smUrl}/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            userId,
            pickup: { lat: -6.2 + (i + j) / 1000, lng: 106.8 },
            dropoff: { lat: -6.25, lng: 106.85 + (i + j) / 1000 },
          }),
        });
        if (res.status !== 201) throw new Error(`POST /sessions → ${res.status} ${await res.text()}`);
        const session = (await res.json()) as { id: string };
        return [session.id, userId] as [string, string];
      }),
    );
    sessions.push(...batch);
  }
  return sessions;
}

/** autocannon requests posting orders over the given sessions, round robin. */
export function orderRequests(sessions: [string, string][], paymentMethod: () => 'online' | 'cash') {
  let next = 0;
  return [
    {
      method: 'POST' as const,
      path: '/orders',
      setupRequest: <T extends object>(req: T): T & { body: string } => {
        const [sessionId, userId] = sessions[next++ % sessions.length];
        return { ...req, body: JSON.stringify({ sessionId, userId, paymentMethod: paymentMethod() }) };
      },
    },
  ];
}

function row(label: string, r: LoadResult): string {
  const s = windowStats(r.samples, r.startedAt, r.endedAt + 1);
  const seconds = (r.endedAt - r.startedAt) / 1000;
  const statuses = Object.entries(s.byStatus)
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return `| ${label} | ${fmt(s.count / seconds)} | ${fmt(s.p50)} | ${fmt(s.p99)} | ${s.errors} | ${statuses} |`;
}

async function degradedCount(stack: Stack, sample: number): Promise<Record<string, number>> {
  // A few orders through the same path, to show what the answers carry (payment gateway, degraded).
  const sessions = await createSessions(stack.env.SESSION_MANAGER_URL, sample);
  const gateways: Record<string, number> = {};
  for (const [sessionId, userId] of sessions) {
    const res = await fetch(`${stack.env.ORDER_ORCHESTRATOR_URL}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId, userId, paymentMethod: 'online' }),
    });
    const body = (await res.json()) as { payment?: { gateway?: string } | null; degraded?: string[] };
    const key = `${res.status} ${body.payment?.gateway ?? 'no link'}${body.degraded?.length ? ` degraded=${body.degraded.join('+')}` : ''}`;
    gateways[key] = (gateways[key] ?? 0) + 1;
  }
  return gateways;
}

export async function e2eBench(): Promise<ScenarioResult> {
  mkdirSync(OUT, { recursive: true });
  const rows: Row[] = [];
  const problems: string[] = [];
  const notes: string[] = [];

  const baselinePort = 14090;
  const baseline = await startProcess({
    name: 'e2e-baseline',
    entry: join(__dirname, 'support', 'constant-orders.app.js'),
    env: { ...benchEnvironment(14000), BENCH_BASELINE_PORT: String(baselinePort) },
    readyUrl: `http://127.0.0.1:${baselinePort}/health/live`,
  });
  try {
    const requests = orderRequests([['ses_x', 'u-1']], () => 'online');
    await runLoad({
      url: `http://127.0.0.1:${baselinePort}`,
      connections: CONNECTIONS,
      durationSec: 2,
      requests,
    });
    rows.push({
      label: 'constant NestJS app (ceiling)',
      result: await runLoad({
        url: `http://127.0.0.1:${baselinePort}`,
        connections: CONNECTIONS,
        durationSec: DURATION_S,
        requests,
      }),
    });
    if (baseline.crashed) problems.push('baseline crashed');
  } finally {
    await baseline.stop();
  }

  const stack = await startFullStack(14000, 'e2e');
  try {
    const oo = stack.env.ORDER_ORCHESTRATOR_URL;
    const control = `http://127.0.0.1:${stack.env.SIMULATORS_CONTROL_PORT}`;
    const sessions = await createSessions(stack.env.SESSION_MANAGER_URL, SESSIONS);
    const online = orderRequests(sessions, () => 'online');
    await runLoad({ url: oo, connections: CONNECTIONS, durationSec: QUICK ? 2 : 5, requests: online });
    rows.push({
      label: 'all four services, online payment, all healthy',
      result: await runLoad({ url: oo, connections: CONNECTIONS, durationSec: DURATION_S, requests: online }),
    });
    rows.push({
      label: 'all four services, cash (no payment link)',
      result: await runLoad({
        url: oo,
        connections: CONNECTIONS,
        durationSec: DURATION_S,
        requests: orderRequests(sessions, () => 'cash'),
      }),
    });
    notes.push(`healthy answers (sample of 10): ${JSON.stringify(await degradedCount(stack, 10))}`);

    await setFault(control, 'midtrans', { mode: 'error', status: 503 });
    // Until payment-midtrans opens each link pays one failed Midtrans call first; measure both.
    rows.push({
      label: 'Midtrans 503, first 3 s (breaker closed → opens)',
      result: await runLoad({ url: oo, connections: CONNECTIONS, durationSec: 3, requests: online }),
    });
    await sleep(200);
    rows.push({
      label: 'Midtrans 503, payment-midtrans open (skip → Xendit)',
      result: await runLoad({ url: oo, connections: CONNECTIONS, durationSec: DURATION_S, requests: online }),
    });
    notes.push(`Midtrans-down answers (sample of 10): ${JSON.stringify(await degradedCount(stack, 10))}`);
    await setFault(control, 'midtrans', null);
    for (const name of stack.crashed()) problems.push(`crashed: ${name}`);
  } finally {
    await stack.stop();
  }

  const md = [
    '## End to end `POST /orders`',
    '',
    `Command: \`npm run bench:e2e\`${QUICK ? ' (BENCH_QUICK=1)' : ''}. autocannon closed loop, ${CONNECTIONS} connections, ${DURATION_S} s per row ` +
      `(after a warm-up), orders round robin over ${SESSIONS} sessions of distinct users; the four services, simulators and autocannon ` +
      'share the 2 cores (Postgres too). The ceiling is a NestJS app with the same DTO validation answering a constant 201 body.',
    '',
    '| case | orders/s | p50 ms | p99 ms | non-2xx | statuses |',
    '|---|---|---|---|---|---|',
    ...rows.map((r) => row(r.label, r.result)),
    '',
    ...notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
  writeFileSync(join(OUT, QUICK ? 'e2e.quick.md' : 'e2e.md'), md);
  console.log(md);
  for (const r of rows) {
    const s = windowStats(r.result.samples, r.result.startedAt, r.result.endedAt + 1);
    if (s.count === 0) problems.push(`${r.label}: no answers`);
    else if (s.errors / s.count > 0.05)
      problems.push(`${r.label}: ${s.errors}/${s.count} non-2xx ${JSON.stringify(s.byStatus)}`);
  }
  return { ok: problems.length === 0, problems };
}

if (require.main === module) runAsScript(e2eBench);
