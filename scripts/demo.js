#!/usr/bin/env node
// `npm run demo`: plays the outage story against the running local system (`npm start`),
// printing each step and the breaker states after it. Exits non-zero when the story breaks.
'use strict';
const { PROCESSES, localEnvironment } = require('./system');

const env = localEnvironment({ databaseUrl: process.env.DATABASE_URL });
const base = Object.fromEntries(PROCESSES.map((p) => [p.name, p.baseUrl(env)]));
const operatorHeaders = { authorization: `Bearer ${env.OPERATOR_API_TOKEN}` };
const bold = (text) => `\x1b[1m${text}\x1b[0m`;
const STATE_COLOUR = { closed: 32, 'half-open': 33, open: 31 };
let orderCount = 0;

async function call(method, url, body, headers = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let json;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

function step(title) {
  process.stdout.write(`\n${bold(`▶ ${title}`)}\n`);
}

function say(text) {
  process.stdout.write(`  ${text}\n`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function breakers() {
  const lines = [];
  for (const svc of PROCESSES.filter((p) => p.kind === 'service')) {
    const res = await call('GET', `${base[svc.name]}/breakers`).catch(() => ({ status: 0, body: [] }));
    const parts = (Array.isArray(res.body) ? res.body : [])
      .filter((b) => b.counts.requests > 0 || b.state !== 'closed')
      .map((b) => `\x1b[${STATE_COLOUR[b.state]}m${b.name}=${b.state}\x1b[0m`);
    lines.push(`${svc.name.padEnd(21)} ${parts.join('  ') || '(all closed, idle)'}`);
  }
  say(`breakers:\n    ${lines.join('\n    ')}`);
}

async function breakerState(service, name) {
  const res = await call('GET', `${base[service]}/breakers`);
  return res.body.find((b) => b.name === name);
}

async function order(paymentMethod) {
  orderCount += 1;
  const userId = `u-demo-${orderCount}`;
  const session = await call('POST', `${base['session-manager']}/sessions`, {
    userId,
    pickup: { lat: -6.2 + orderCount * 0.001, lng: 106.816 },
    dropoff: { lat: -6.175, lng: 106.827 },
  });
  if (session.status !== 201)
    throw new Error(`session: HTTP ${session.status} ${JSON.stringify(session.body)}`);
  const res = await call('POST', `${base['order-orchestrator']}/orders`, {
    sessionId: session.body.id,
    userId,
    paymentMethod,
  });
  if (res.status !== 201) throw new Error(`order: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  const o = res.body;
  say(
    `order ${o.id.slice(0, 8)}… ${o.status.padEnd(24)} fare ${o.fare?.amount ?? o.fare} IDR, route ${session.body.quote.provider}, dispatch ${o.dispatch.status}` +
      (o.payment ? `, pay via ${o.payment.gateway}` : '') +
      (o.degraded.length ? `, degraded: ${o.degraded.join(',')}` : ''),
  );
  return o;
}

async function waitFor(description, predicate, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    if (Date.now() - last > 5000) {
      say(`…waiting for ${description}`);
      last = Date.now();
    }
    await sleep(500);
  }
  throw new Error(`timed out waiting for ${description}`);
}

async function main() {
  await call('DELETE', `${base['downstream-simulators']}/faults`);

  step('1. Orders flow while everything is healthy');
  for (let i = 0; i < 3; i += 1) await order(i === 0 ? 'online' : 'cash');
  await breakers();

  step('2. BBD goes down (503 on every call): the bbd-dispatch breaker opens, orders queue');
  await call('PUT', `${base['downstream-simulators']}/faults/bbd`, { mode: 'error', status: 503 });
  for (let i = 0; i < 7; i += 1) await order('cash');
  await breakers();
  const open = await breakerState('taxi-partner-gateway', 'bbd-dispatch');
  say(`bbd-dispatch is ${open.state}; it lets a probe through in ${(open.retryAfterMs / 1000).toFixed(1)} s`);

  step('3. An operator claims one queued order and dispatches it by radio');
  const pending = await call(
    'GET',
    `${base['taxi-partner-gateway']}/manual-dispatch?status=pending`,
    undefined,
    operatorHeaders,
  );
  say(`manual dispatch queue: ${pending.body.items.length} pending`);
  const entry = pending.body.items[0];
  const claim = await call(
    'POST',
    `${base['taxi-partner-gateway']}/manual-dispatch/${entry.id}/claim`,
    { operator: 'ayu' },
    operatorHeaders,
  );
  say(`ayu claims ${entry.orderId.slice(0, 8)}…: HTTP ${claim.status}`);
  const rival = await call(
    'POST',
    `${base['taxi-partner-gateway']}/manual-dispatch/${entry.id}/claim`,
    { operator: 'budi' },
    operatorHeaders,
  );
  say(`budi tries the same entry: HTTP ${rival.status} (${rival.body.message})`);
  const done = await call(
    'POST',
    `${base['taxi-partner-gateway']}/manual-dispatch/${entry.id}/complete`,
    { vehicleId: 'B 1234 XYZ', driverName: 'Pak Joko' },
    operatorHeaders,
  );
  say(`ayu completes it with B 1234 XYZ: HTTP ${done.status}`);

  step(
    '4. BBD comes back: after the open timeout the breaker probes, closes, and the queue drains by itself',
  );
  await call('DELETE', `${base['downstream-simulators']}/faults/bbd`);
  await waitFor(
    'bbd-dispatch to close and the queue to drain',
    async () => {
      const b = await breakerState('taxi-partner-gateway', 'bbd-dispatch');
      const q = await call(
        'GET',
        `${base['taxi-partner-gateway']}/manual-dispatch?status=pending`,
        undefined,
        operatorHeaders,
      );
      return b.state === 'closed' && q.body.items.length === 0;
    },
    120_000,
  );
  say('queue drained: every pending order was handed to BBD');
  await breakers();

  step('5. Midtrans goes down: payment links move to Xendit');
  await call('PUT', `${base['downstream-simulators']}/faults/midtrans`, { mode: 'error', status: 503 });
  for (let i = 0; i < 3; i += 1) await order('online');
  await breakers();

  step('6. Everything healthy again');
  await call('DELETE', `${base['downstream-simulators']}/faults`);
  await order('online');
  await breakers();
  process.stdout.write(
    `\n${bold('The story held: one failing dependency degraded one feature, nothing was lost.')}\n`,
  );
}

main().catch((err) => {
  process.stdout.write(
    `\n\x1b[1;31mdemo failed: ${err.message}\x1b[0m\n(is the system running? start it with \`npm start\`)\n`,
  );
  process.exit(1);
});
