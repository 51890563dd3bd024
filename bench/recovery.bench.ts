/**
 * Scenario 3, recovery: N dispatches queued while BBD fails (503), then BBD healed; measures the
 * time from heal to `bbd-dispatch` closed and to the manual dispatch queue drained, and checks
 * that every order reached BBD exactly once. Writes docs/benchmarks/recovery.md.
 * Run: npm run bench:recovery   (BENCH_QUICK=1: 200 dispatches)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, runLoad } from './lib/load';
import { metricValue, ROOT, setFault, sleep } from './lib/processes';
import { startTpgStack } from './lib/stacks';
import { runAsScript, type ScenarioResult } from './lib/scenario';

const QUICK = process.env.BENCH_QUICK === '1';
const N = Number(process.env.BENCH_RECOVERY_N ?? (QUICK ? 200 : 1000));
const OPEN_TIMEOUT_MS = Number(process.env.BENCH_RECOVERY_OPEN_TIMEOUT_MS ?? 5000);
const OUT = join(ROOT, 'docs', 'benchmarks');

interface RecoveryResult {
  label: string;
  replayPollMs: number;
  queued: number;
  healToClosedMs: number;
  closedToDrainedMs: number;
  healToDrainedMs: number;
  drainRate: number;
  bbdOrders: number;
  duplicates: number;
  crashed: string[];
}

async function pendingDepth(tpgUrl: string): Promise<number> {
  const text = await (await fetch(`${tpgUrl}/metrics`)).text();
  let depth = 0;
  for (const status of ['pending', 'replaying']) {
    depth += metricValue(text, 'deferred_queue_depth', { queue: 'manual-dispatch', status }) ?? 0;
  }
  return depth;
}

async function breakerState(tpgUrl: string): Promise<string> {
  const list = (await (await fetch(`${tpgUrl}/breakers`)).json()) as { name: string; state: string }[];
  return list.find((b) => b.name === 'bbd-dispatch')?.state ?? '?';
}

async function runRecovery(base: number, replayPollMs: number): Promise<RecoveryResult> {
  const label = `recovery-poll${replayPollMs}`;
  const stack = await startTpgStack(base, label, {
    BREAKER_OVERRIDES: JSON.stringify({ 'bbd-dispatch': { timeoutMs: OPEN_TIMEOUT_MS } }),
    REPLAY_POLL_MS: String(replayPollMs),
  });
  try {
    const tpgUrl = stack.env.TPG_URL;
    const control = `http://127.0.0.1:${stack.env.SIMULATORS_CONTROL_PORT}`;
    await setFault(control, 'bbd', { mode: 'error', status: 503 });
    let seq = 0;
    const run = `${label}-${Date.now().toString(36)}`;
    const fill = await runLoad({
      url: tpgUrl,
      connections: 20,
      amount: N,
      requests: [
        {
          method: 'POST',
          path: '/dispatches',
          setupRequest: (req) => ({
            ...req,
            body: JSON.stringify({
              orderId: `${run}-${seq++}`,
              pickup: { lat: -6.2, lng: 106.8 },
              dropoff: { lat: -6.25, lng: 106.85 },
            }),
          }),
        },
      ],
    });
    const queued = fill.samples.filter((s) => s.status === 202).length;
    // Heal right after a (re)open, so the wait is the full open timeout: the worst case.
    const waitOpenUntil = Date.now() + OPEN_TIMEOUT_MS * 3;
    let previous = await breakerState(tpgUrl);
    for (;;) {
      const state = await breakerState(tpgUrl);
      if (state === 'open' && previous !== 'open') break;
      if (Date.now() > waitOpenUntil) break;
      previous = state;
      await sleep(10);
    }
    const healAt = Date.now();
    await setFault(control, 'bbd', null);
    let closedAt = 0;
    let drainedAt = 0;
    const deadline = healAt + OPEN_TIMEOUT_MS + 120_000;
    while (Date.now() < deadline && (!closedAt || !drainedAt)) {
      const [state, depth] = await Promise.all([breakerState(tpgUrl), pendingDepth(tpgUrl)]);
      if (!closedAt && state === 'closed') closedAt = Date.now();
      if (!drainedAt && depth === 0) drainedAt = Date.now();
      await sleep(20);
    }
    const orders = (await (
      await fetch(`${stack.env.BBD_URL}/v1/_orders`, { headers: { 'x-api-key': 'bench' } })
    ).json()) as {
      orders: { partnerOrderId: string }[];
    };
    const ids = orders.orders.map((o) => o.partnerOrderId).filter((id) => id.startsWith(run));
    return {
      label,
      replayPollMs,
      queued,
      healToClosedMs: closedAt ? closedAt - healAt : Number.NaN,
      closedToDrainedMs: closedAt && drainedAt ? drainedAt - closedAt : Number.NaN,
      healToDrainedMs: drainedAt ? drainedAt - healAt : Number.NaN,
      drainRate: closedAt && drainedAt ? queued / Math.max(0.001, (drainedAt - closedAt) / 1000) : Number.NaN,
      bbdOrders: new Set(ids).size,
      duplicates: ids.length - new Set(ids).size,
      crashed: stack.crashed(),
    };
  } finally {
    await stack.stop();
  }
}

export async function recoveryBench(): Promise<ScenarioResult> {
  mkdirSync(OUT, { recursive: true });
  const results = [await runRecovery(13600, 1000)];
  if (!QUICK) results.push(await runRecovery(13700, 100));
  const md = [
    '## Recovery: queued dispatches after BBD heals',
    '',
    `Command: \`npm run bench:recovery\`${QUICK ? ' (BENCH_QUICK=1)' : ''}. ${N} \`POST /dispatches\` while BBD answers 503 ` +
      `(autocannon, 20 connections) → all 202 queued; BBD healed right after \`bbd-dispatch\` (re)opened; ` +
      `BREAKER_OVERRIDES=\`{"bbd-dispatch":{"timeoutMs":${OPEN_TIMEOUT_MS}}}\`. Breaker state from \`GET /breakers\`, queue depth ` +
      '(`pending`+`replaying`: leased entries still in flight count) from `/metrics`, polled every 20 ms. Replayer: TPG defaults (REPLAY_CONCURRENCY 8, REPLAY_BATCH_SIZE 50).',
    '',
    '| REPLAY_POLL_MS | queued | heal → closed ms | closed → drained ms | heal → drained ms | drain rate /s | orders on BBD | duplicates |',
    '|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.replayPollMs} | ${r.queued} | ${fmt(r.healToClosedMs)} | ${fmt(r.closedToDrainedMs)} | ${fmt(r.healToDrainedMs)} | ${fmt(r.drainRate)} | ${r.bbdOrders} | ${r.duplicates} |`,
    ),
    '',
    `Target: heal → closed ≤ open timeout + 2 s = ${OPEN_TIMEOUT_MS + 2000} ms, drain ≥ 200 dispatches/s.`,
    '',
  ].join('\n');
  writeFileSync(join(OUT, QUICK ? 'recovery.quick.md' : 'recovery.md'), md);
  console.log(md);
  const problems: string[] = [];
  for (const r of results) {
    if (r.crashed.length) problems.push(`${r.label}: crashed ${r.crashed.join(', ')}`);
    if (r.queued < N * 0.95) problems.push(`${r.label}: only ${r.queued}/${N} dispatches queued`);
    if (!Number.isFinite(r.healToDrainedMs)) problems.push(`${r.label}: queue never drained`);
    if (r.duplicates > 0) problems.push(`${r.label}: ${r.duplicates} orders reached BBD twice`);
    if (r.bbdOrders < r.queued)
      problems.push(`${r.label}: ${r.bbdOrders} of ${r.queued} queued orders reached BBD`);
  }
  return { ok: problems.length === 0, problems };
}

if (require.main === module) runAsScript(recoveryBench);
