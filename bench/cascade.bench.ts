/**
 * Scenario 2, cascade under a hanging dependency: fixed offered load on TPG `POST /dispatches`
 * (unique orderIds), BBD healthy → hanging → healed, once with our breakers and once with
 * BREAKERS_DISABLED=true, in one run. Writes docs/benchmarks/cascade.md,
 * docs/benchmarks/p99-through-outage.png and docs/benchmarks/raw/cascade-<mode>.json.
 * Run: npm run bench:cascade   (BENCH_QUICK=1 for the short smoke version)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, mib, percentile, runOpenLoad, windowStats, type LoadResult, type Sample } from './lib/load';
import { drawChart } from './lib/plot';
import { ROOT, rssOf, setFault, sleep, socketsTo } from './lib/processes';
import { startTpgStack } from './lib/stacks';
import { runAsScript, type ScenarioResult } from './lib/scenario';

const QUICK = process.env.BENCH_QUICK === '1';
const OUT = join(ROOT, 'docs', 'benchmarks');
const RATE = Number(process.env.BENCH_CASCADE_RATE ?? 100);
const HEALTHY_S = QUICK ? 3 : 20;
const HANG_S = QUICK ? 8 : 45;
const HEALED_S = QUICK ? 2 : 35;
const WARMUP_S = QUICK ? 1 : 10;
// Quick mode shortens the open timeout so the smoke run also sees half-open; the full run keeps the defaults.
const OVERRIDES = QUICK ? '{"bbd-dispatch":{"timeoutMs":4000}}' : '{}';

interface Tick {
  t: number;
  socketsToBbd: number;
  rssBytes: number;
  breaker: string;
}

export interface ModeResult {
  mode: 'breakers on' | 'breakers off';
  load: LoadResult;
  ticks: Tick[];
  eld: { t: number; p99: number; max: number }[];
  hangAt: number;
  healAt: number;
  /** First tick at which bbd-dispatch was seen open (breakers on only). */
  openAt?: number;
  bbdCalls: number;
  crashed: string[];
}

async function breakerState(tpgUrl: string): Promise<string> {
  try {
    const res = await fetch(`${tpgUrl}/breakers`, { signal: AbortSignal.timeout(400) });
    const list = (await res.json()) as { name: string; state: string }[];
    return list.find((b) => b.name === 'bbd-dispatch')?.state ?? '?';
  } catch {
    return 'no answer';
  }
}

async function runMode(mode: ModeResult['mode'], base: number): Promise<ModeResult> {
  const label = mode === 'breakers on' ? 'cascade-on' : 'cascade-off';
  const stack = await startTpgStack(base, label, {
    BREAKERS_DISABLED: mode === 'breakers off' ? 'true' : 'false',
    BREAKER_OVERRIDES: OVERRIDES,
  });
  try {
    const tpg = stack.procs[`${label}-tpg`];
    const tpgUrl = stack.env.TPG_URL;
    const control = `http://127.0.0.1:${stack.env.SIMULATORS_CONTROL_PORT}`;
    const bbdPort = Number(stack.env.BBD_SIM_PORT);
    let seq = 0;
    const run = `${label}-${Date.now().toString(36)}`;
    const body = (): string =>
      JSON.stringify({
        orderId: `${run}-${seq++}`,
        pickup: { lat: -6.2 + (seq % 100) / 1e4, lng: 106.8 },
        dropoff: { lat: -6.25, lng: 106.85 },
        passenger: { name: 'Bench Rider', phone: '+628123456789' },
      });
    await runOpenLoad({ url: tpgUrl, path: '/dispatches', rate: RATE, durationSec: WARMUP_S, body });
    tpg.samples.length = 0;

    const ticks: Tick[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const t = Date.now();
        ticks.push({
          t,
          socketsToBbd: socketsTo(tpg.pid, bbdPort),
          rssBytes: rssOf(tpg.pid),
          breaker: await breakerState(tpgUrl),
        });
        await sleep(Math.max(0, 500 - (Date.now() - t)));
      }
    })();
    await fetch(`${control}/calls`, { method: 'DELETE' });
    const startedAt = Date.now();
    const hangAt = startedAt + HEALTHY_S * 1000;
    const healAt = hangAt + HANG_S * 1000;
    const faults = (async () => {
      await sleep(hangAt - Date.now());
      await setFault(control, 'bbd', { mode: 'hang' });
      await sleep(healAt - Date.now());
      await setFault(control, 'bbd', null);
    })();
    const load = await runOpenLoad({
      url: tpgUrl,
      path: '/dispatches',
      rate: RATE,
      durationSec: HEALTHY_S + HANG_S + HEALED_S,
      timeoutMs: 30_000,
      body,
    });
    await faults;
    sampling = false;
    await sampler;
    const calls = (await (await fetch(`${control}/calls/bbd`)).json()) as { total: number };
    const openTick = ticks.find((tick) => tick.t >= hangAt && tick.breaker === 'open');
    return {
      mode,
      load,
      ticks,
      eld: tpg.samples.map((s) => ({ t: s.t, p99: s.eldP99Ms, max: s.eldMaxMs })),
      hangAt,
      healAt,
      openAt: openTick?.t,
      bbdCalls: calls.total,
      crashed: stack.crashed(),
    };
  } finally {
    await stack.stop();
  }
}

/** Samples whose request started in [from, to). */
function startedWithin(samples: Sample[], from: number, to: number): Sample[] {
  return samples.filter((s) => {
    const start = Number.isFinite(s.latencyMs) ? s.t - s.latencyMs : s.t;
    return start >= from && start < to;
  });
}

function phaseRow(result: ModeResult, phase: string, from: number, to: number, byStart: boolean): string {
  const samples = byStart ? startedWithin(result.load.samples, from, to) : result.load.samples;
  const stats = byStart ? windowStats(samples, 0, Number.MAX_SAFE_INTEGER) : windowStats(samples, from, to);
  const seconds = (to - from) / 1000;
  const ticks = result.ticks.filter((tick) => tick.t >= from && tick.t < to);
  const eld = result.eld.filter((e) => e.t >= from && e.t < to);
  const queued = stats.byStatus['202'] ?? 0;
  return [
    result.mode,
    phase,
    fmt(stats.p50),
    fmt(stats.p99),
    fmt(stats.count / seconds),
    String(stats.errors),
    String(queued),
    String(Math.max(0, ...ticks.map((tick) => tick.socketsToBbd))),
    fmt(
      percentile(
        eld.map((e) => e.p99),
        50,
      ),
    ),
    fmt(Math.max(0, ...eld.map((e) => e.max))),
    mib(Math.max(0, ...ticks.map((tick) => tick.rssBytes))),
  ].join(' | ');
}

function perSecondP99(result: ModeResult, origin: number): [number, number][] {
  const points: [number, number][] = [];
  const end = result.load.endedAt;
  for (let from = origin; from < end; from += 1000) {
    points.push([(from - origin) / 1000 + 0.5, windowStats(result.load.samples, from, from + 1000).p99]);
  }
  return points;
}

export async function cascadeBench(): Promise<ScenarioResult> {
  mkdirSync(join(OUT, 'raw'), { recursive: true });
  const on = await runMode('breakers on', 13000);
  const off = await runMode('breakers off', 13200);
  // Steady state after the trip: requests started once the breaker was seen open (same offset in both runs).
  const tripOffset = (on.openAt ?? on.hangAt + 10_000) - on.hangAt;
  const rows: string[] = [];
  for (const r of [on, off]) {
    const start = r.hangAt - HEALTHY_S * 1000;
    rows.push(phaseRow(r, `healthy (${HEALTHY_S} s)`, start, r.hangAt, false));
    rows.push(phaseRow(r, `BBD hanging, all (${HANG_S} s)`, r.hangAt, r.healAt, false));
    rows.push(
      phaseRow(
        r,
        `BBD hanging, started ≥ ${(tripOffset / 1000).toFixed(1)} s after hang`,
        r.hangAt + tripOffset,
        r.healAt,
        true,
      ),
    );
    rows.push(phaseRow(r, `BBD healed (${HEALED_S} s)`, r.healAt, r.load.endedAt, false));
  }
  const healthyP99 = windowStats(on.load.samples, on.hangAt - HEALTHY_S * 1000, on.hangAt).p99;
  const afterTrip = startedWithin(on.load.samples, on.hangAt + tripOffset, on.healAt);
  const afterTripP99 = percentile(
    afterTrip.map((s) => s.latencyMs),
    99,
  );
  const maxSocketsAfterTrip = Math.max(
    0,
    ...on.ticks
      .filter((t) => t.t >= on.hangAt + tripOffset + 6000 && t.t < on.healAt)
      .map((t) => t.socketsToBbd),
  );

  drawChart({
    title: `TPG POST /dispatches at ${RATE} req/s: p99 per second, BBD hanging from ${HEALTHY_S} s to ${HEALTHY_S + HANG_S} s`,
    xLabel: 'seconds since load start',
    yLabel: 'p99 latency (ms, log)',
    file: join(OUT, 'p99-through-outage.png'),
    bands: [{ from: HEALTHY_S, to: HEALTHY_S + HANG_S, label: 'BBD hanging', colour: '#fde2e2' }],
    series: [
      { label: 'breakers on', colour: '#1f77b4', points: perSecondP99(on, on.hangAt - HEALTHY_S * 1000) },
      {
        label: 'BREAKERS_DISABLED',
        colour: '#d62728',
        points: perSecondP99(off, off.hangAt - HEALTHY_S * 1000),
      },
    ],
  });

  const md = [
    '## Cascade under a hanging BBD (TPG `POST /dispatches`)',
    '',
    `Command: \`npm run bench:cascade\`${QUICK ? ' (BENCH_QUICK=1)' : ''}. Offered load ${RATE} req/s (open model: one request every ${1000 / RATE} ms whatever the latency, ` +
      `keep-alive agent without socket limit, unique orderId per request; autocannon caps its connections at the rate and waits per connection, ` +
      `so it cannot hold an offered load through a 5 s hang), ${HEALTHY_S} s healthy → ${HANG_S} s BBD \`hang\` → ${HEALED_S} s healed; ` +
      `BREAKER_OVERRIDES=\`${OVERRIDES}\`. The two runs are sequential in one process, each on its own simulators, schema and ports.`,
    'Latency = time from send to last byte, bucketed by completion time (per-phase rows) or by send time (the "started ≥" row). Sockets = ESTABLISHED sockets of the TPG process to the BBD port ' +
      '(TPG side: /proc/<pid>/fd inodes matched in /proc/<pid>/net/tcp, every 500 ms). Event-loop delay from `monitorEventLoopDelay` in a `-r` preload ' +
      '(p99 per 500 ms window: median of windows; max: worst single delay). RSS from /proc/<pid>/status.',
    '',
    '| mode | phase | p50 ms | p99 ms | completed/s | non-2xx | 202 queued | max sockets to BBD | ELD p99 ms | ELD max ms | max RSS MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r} |`),
    '',
    `bbd-dispatch seen open ${on.openAt ? ((on.openAt - on.hangAt) / 1000).toFixed(1) + ' s' : 'never'} after the hang began. ` +
      `Requests to BBD during the run: breakers on ${on.bbdCalls}, off ${off.bbdCalls}.`,
    `Target (breakers on, after the trip window): p99 ${fmt(afterTripP99)} ms vs healthy p99 ${fmt(healthyP99)} ms = ` +
      `**${fmt(afterTripP99 / healthyP99, 2)}×** (target ≤ 2×); max sockets to BBD once the hung calls expired: **${maxSocketsAfterTrip}** ` +
      '(pool: dispatch 50 + replay 10).',
    '',
    '![p99 through the outage](docs/benchmarks/p99-through-outage.png)',
    '',
  ].join('\n');
  writeFileSync(join(OUT, QUICK ? 'cascade.quick.md' : 'cascade.md'), md);
  for (const r of [on, off]) {
    writeFileSync(
      join(OUT, 'raw', `cascade-${r.mode === 'breakers on' ? 'on' : 'off'}${QUICK ? '.quick' : ''}.json`),
      JSON.stringify({
        mode: r.mode,
        hangAt: r.hangAt,
        healAt: r.healAt,
        openAt: r.openAt,
        ticks: r.ticks,
        eld: r.eld,
        perSecondP99: perSecondP99(r, r.hangAt - HEALTHY_S * 1000),
      }),
    );
  }
  console.log(md);

  const problems: string[] = [];
  for (const r of [on, off]) {
    if (r.crashed.length) problems.push(`${r.mode}: crashed ${r.crashed.join(', ')}`);
    const healthy = windowStats(r.load.samples, r.hangAt - HEALTHY_S * 1000, r.hangAt);
    if (healthy.count === 0 || healthy.errors / healthy.count > 0.05)
      problems.push(`${r.mode}: healthy phase error rate ${healthy.errors}/${healthy.count}`);
    const all = r.load.samples;
    const server5xx = all.filter((s) => s.status >= 500).length;
    if (server5xx / Math.max(1, all.length) > 0.05)
      problems.push(`${r.mode}: ${server5xx} 5xx of ${all.length}`);
  }
  if (!on.openAt) problems.push('breakers on: bbd-dispatch never opened while BBD hung');
  return { ok: problems.length === 0, problems };
}

if (require.main === module) runAsScript(cascadeBench);
