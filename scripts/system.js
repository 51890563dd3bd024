'use strict';
// The local system's processes, ports and environment: shared by `npm start`, the demo, the
// status view, the chaos suite and the benchmarks so that they all agree on where things are.

const HOST = '127.0.0.1';

function port(env, name, fallback, offset = 0) {
  return Number(env[name] ?? process.env[name] ?? fallback) + offset;
}

/** Every port variable of the local system with its default (the block 3000–3003, 4000–4007). */
const PORT_DEFAULTS = Object.freeze({
  ORDER_ORCHESTRATOR_PORT: 3000,
  SESSION_MANAGER_PORT: 3001,
  PAYMENT_PROCESSOR_PORT: 3002,
  TPG_PORT: 3003,
  SIMULATORS_CONTROL_PORT: 4000,
  USER_SERVICE_SIM_PORT: 4001,
  BBD_SIM_PORT: 4002,
  MIDTRANS_SIM_PORT: 4003,
  XENDIT_SIM_PORT: 4004,
  NICEPAY_SIM_PORT: 4005,
  GOOGLE_MAPS_SIM_PORT: 4006,
  HERE_SIM_PORT: 4007,
});

/**
 * Environment for every process of the local system (real values win over local defaults).
 * `portOffset` (default 0) is added to every port, so a test system never collides with a
 * running `npm start` or with another suite.
 */
function localEnvironment({ databaseUrl, base = process.env, portOffset = 0 }) {
  const p = (name, fallback) => port(base, name, fallback, portOffset);
  const url = (name, fallback) => `http://${HOST}:${p(name, fallback)}`;
  return {
    NODE_ENV: base.NODE_ENV ?? 'development',
    DATABASE_URL: databaseUrl,
    ORDER_ORCHESTRATOR_PORT: String(p('ORDER_ORCHESTRATOR_PORT', 3000)),
    SESSION_MANAGER_PORT: String(p('SESSION_MANAGER_PORT', 3001)),
    PAYMENT_PROCESSOR_PORT: String(p('PAYMENT_PROCESSOR_PORT', 3002)),
    TPG_PORT: String(p('TPG_PORT', 3003)),
    SIMULATORS_CONTROL_PORT: String(p('SIMULATORS_CONTROL_PORT', 4000)),
    USER_SERVICE_SIM_PORT: String(p('USER_SERVICE_SIM_PORT', 4001)),
    BBD_SIM_PORT: String(p('BBD_SIM_PORT', 4002)),
    MIDTRANS_SIM_PORT: String(p('MIDTRANS_SIM_PORT', 4003)),
    XENDIT_SIM_PORT: String(p('XENDIT_SIM_PORT', 4004)),
    NICEPAY_SIM_PORT: String(p('NICEPAY_SIM_PORT', 4005)),
    GOOGLE_MAPS_SIM_PORT: String(p('GOOGLE_MAPS_SIM_PORT', 4006)),
    HERE_SIM_PORT: String(p('HERE_SIM_PORT', 4007)),
    USER_SERVICE_URL: base.USER_SERVICE_URL ?? url('USER_SERVICE_SIM_PORT', 4001),
    BBD_URL: base.BBD_URL ?? url('BBD_SIM_PORT', 4002),
    MIDTRANS_URL: base.MIDTRANS_URL ?? url('MIDTRANS_SIM_PORT', 4003),
    XENDIT_URL: base.XENDIT_URL ?? url('XENDIT_SIM_PORT', 4004),
    NICEPAY_URL: base.NICEPAY_URL ?? url('NICEPAY_SIM_PORT', 4005),
    GOOGLE_MAPS_URL: base.GOOGLE_MAPS_URL ?? url('GOOGLE_MAPS_SIM_PORT', 4006),
    HERE_URL: base.HERE_URL ?? url('HERE_SIM_PORT', 4007),
    SESSION_MANAGER_URL: url('SESSION_MANAGER_PORT', 3001),
    PAYMENT_PROCESSOR_URL: url('PAYMENT_PROCESSOR_PORT', 3002),
    TPG_URL: url('TPG_PORT', 3003),
    ORDER_ORCHESTRATOR_URL: url('ORDER_ORCHESTRATOR_PORT', 3000),
    PAYMENT_WEBHOOK_BASE_URL: url('PAYMENT_PROCESSOR_PORT', 3002),
    OPERATOR_API_TOKEN: base.OPERATOR_API_TOKEN ?? 'local-operator-token',
  };
}

const service = (name, dir, portVar) => ({
  name,
  kind: 'service',
  entry: `dist/apps/${dir}/src/main.js`,
  baseUrl: (env) => `http://${HOST}:${env[portVar]}`,
  readyUrl: (env) => `http://${HOST}:${env[portVar]}/health/ready`,
  endpoints: (env) => [[name, `http://${HOST}:${env[portVar]}`]],
});

/** Start order: simulators first, the orchestrator last (it calls the other three). */
const PROCESSES = [
  {
    name: 'downstream-simulators',
    kind: 'simulators',
    entry: 'dist/apps/downstream-simulators/src/main.js',
    baseUrl: (env) => `http://${HOST}:${env.SIMULATORS_CONTROL_PORT}`,
    readyUrl: (env) => `http://${HOST}:${env.SIMULATORS_CONTROL_PORT}/faults`,
    endpoints: (env) => [
      ['simulators: fault control', `http://${HOST}:${env.SIMULATORS_CONTROL_PORT}`],
      ['  user-service', env.USER_SERVICE_URL],
      ['  bbd', env.BBD_URL],
      ['  midtrans', env.MIDTRANS_URL],
      ['  xendit', env.XENDIT_URL],
      ['  nicepay', env.NICEPAY_URL],
      ['  google-maps', env.GOOGLE_MAPS_URL],
      ['  here', env.HERE_URL],
    ],
  },
  service('payment-processor', 'payment-processor', 'PAYMENT_PROCESSOR_PORT'),
  service('taxi-partner-gateway', 'taxi-partner-gateway', 'TPG_PORT'),
  service('session-manager', 'session-manager', 'SESSION_MANAGER_PORT'),
  service('order-orchestrator', 'order-orchestrator', 'ORDER_ORCHESTRATOR_PORT'),
];

module.exports = { HOST, PORT_DEFAULTS, PROCESSES, localEnvironment };
