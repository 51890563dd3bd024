'use strict';
// Docker HEALTHCHECK probe for the one image that runs all five processes (slim image: no curl).
// URL: argv[2], else HEALTHCHECK_URL, else /health/ready on the port of whichever process this
// container runs (its *_PORT variable), else order-orchestrator's 3000.
const PORT_VARS = [
  'ORDER_ORCHESTRATOR_PORT',
  'SESSION_MANAGER_PORT',
  'PAYMENT_PROCESSOR_PORT',
  'TPG_PORT',
  'SIMULATORS_CONTROL_PORT',
];

function targetUrl() {
  if (process.argv[2]) return process.argv[2];
  if (process.env.HEALTHCHECK_URL) return process.env.HEALTHCHECK_URL;
  const portVar = PORT_VARS.find((name) => process.env[name]);
  const port = portVar ? process.env[portVar] : '3000';
  const path = portVar === 'SIMULATORS_CONTROL_PORT' ? '/health/live' : '/health/ready';
  return `http://127.0.0.1:${port}${path}`;
}

const url = targetUrl();
fetch(url, { signal: AbortSignal.timeout(4000) })
  .then((res) => {
    if (res.ok) process.exit(0);
    console.error(`healthcheck ${url}: HTTP ${res.status}`);
    process.exit(1);
  })
  .catch((err) => {
    console.error(`healthcheck ${url}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
