#!/usr/bin/env node
// `npm run status`: a live terminal view of every breaker in every service (state coloured,
// counts, time until half-open) and the queue depths, refreshed each second.
// `--once` prints one frame and exits (non-zero when no service answered).
'use strict';
const { PROCESSES, localEnvironment } = require('./system');

const env = localEnvironment({ databaseUrl: process.env.DATABASE_URL });
const services = PROCESSES.filter((p) => p.kind === 'service');
const STATE_COLOUR = { closed: 32, 'half-open': 33, open: 31 };

async function getJson(url, headers = {}) {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(800) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

async function getText(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(800) });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.text();
}

/** deferred_queue_depth{queue,status} samples from a Prometheus text exposition. */
function queueDepths(text) {
  const depths = [];
  const pattern = /^deferred_queue_depth\{([^}]*)\}\s+([0-9.eE+-]+)/gm;
  for (const match of text.matchAll(pattern)) {
    const labels = Object.fromEntries([...match[1].matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    depths.push({ queue: labels.queue, status: labels.status, value: Number(match[2]) });
  }
  return depths;
}

async function frame() {
  const lines = [];
  let answered = 0;
  const paint = (code, text) => (process.stdout.isTTY ? `\x1b[${code}m${text}\x1b[0m` : text);
  lines.push(`ride-resilience status   ${new Date().toISOString()}   (Ctrl-C to quit)`, '');
  lines.push(
    `${'service'.padEnd(22)} ${'breaker'.padEnd(30)} ${'state'.padEnd(10)} ${'req'.padStart(6)} ${'ok'.padStart(6)} ${'fail'.padStart(6)} ${'consec'.padStart(7)}  half-open in`,
  );
  const queues = [];
  await Promise.all(
    services.map(async (svc) => {
      const base = svc.baseUrl(env);
      try {
        const [breakers, metrics] = await Promise.all([
          getJson(`${base}/breakers`),
          getText(`${base}/metrics`),
        ]);
        answered += 1;
        svc.rows = breakers.map((b) => {
          const wait =
            b.state === 'open' && b.retryAfterMs > 0 ? `${(b.retryAfterMs / 1000).toFixed(1)} s` : '';
          return `${svc.name.padEnd(22)} ${b.name.padEnd(30)} ${paint(STATE_COLOUR[b.state] ?? 0, b.state.padEnd(10))} ${String(b.counts.requests).padStart(6)} ${String(b.counts.totalSuccesses).padStart(6)} ${String(b.counts.totalFailures).padStart(6)} ${String(b.counts.consecutiveFailures).padStart(7)}  ${wait}`;
        });
        for (const depth of queueDepths(metrics)) queues.push({ service: svc.name, ...depth });
      } catch (err) {
        svc.rows = [`${svc.name.padEnd(22)} ${paint(31, `unreachable (${err.message})`)}`];
      }
    }),
  );
  for (const svc of services) lines.push(...svc.rows);
  lines.push('', `${'service'.padEnd(22)} ${'queue'.padEnd(30)} depth by status`);
  const grouped = new Map();
  for (const q of queues) {
    const key = `${q.service.padEnd(22)} ${q.queue.padEnd(30)}`;
    grouped.set(key, [...(grouped.get(key) ?? []), `${q.status}=${q.value}`]);
  }
  for (const [key, parts] of grouped) lines.push(`${key} ${parts.join('  ')}`);
  if (grouped.size === 0) lines.push('(no queue metrics yet)');
  return { text: lines.join('\n'), answered };
}

async function main() {
  if (process.argv.includes('--once')) {
    const { text, answered } = await frame();
    process.stdout.write(`${text}\n`);
    process.exit(answered > 0 ? 0 : 1);
  }
  process.on('SIGINT', () => {
    process.stdout.write('\x1b[?25h\n');
    process.exit(0);
  });
  process.stdout.write('\x1b[?25l');
  for (;;) {
    const { text } = await frame();
    process.stdout.write(`\x1b[2J\x1b[H${text}\n`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

main();
