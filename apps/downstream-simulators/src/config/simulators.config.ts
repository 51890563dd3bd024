import {
  DEFAULT_PORTS,
  LOCAL_SECRETS,
  type SimulatorName,
  type SimulatorSecrets,
} from '../common/downstream.types';
import type { StartSimulatorsOptions } from '../simulators';

/** Port variable per simulator. */
export const PORT_VARIABLES: Readonly<Record<SimulatorName, string>> = {
  control: 'SIMULATORS_CONTROL_PORT',
  'user-service': 'USER_SERVICE_SIM_PORT',
  bbd: 'BBD_SIM_PORT',
  midtrans: 'MIDTRANS_SIM_PORT',
  xendit: 'XENDIT_SIM_PORT',
  nicepay: 'NICEPAY_SIM_PORT',
  'google-maps': 'GOOGLE_MAPS_SIM_PORT',
  here: 'HERE_SIM_PORT',
};

const REQUIRED_SECRETS: ReadonlyArray<[keyof SimulatorSecrets, string]> = [
  ['midtransServerKey', 'MIDTRANS_SERVER_KEY'],
  ['xenditSecretKey', 'XENDIT_SECRET_KEY'],
  ['xenditCallbackToken', 'XENDIT_CALLBACK_TOKEN'],
  ['nicepayMerchantKey', 'NICEPAY_MERCHANT_KEY'],
  ['nicepayImid', 'NICEPAY_IMID'],
];

/** Raised for an invalid environment; the message names the variable. */
export class SimulatorsConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'SimulatorsConfigError';
  }
}

/** Parses and validates the simulators' environment once, at start. */
export function loadSimulatorsConfig(
  env: NodeJS.ProcessEnv,
): Required<Pick<StartSimulatorsOptions, 'host' | 'ports' | 'secrets' | 'paymentWebhookBaseUrl' | 'seed'>> &
  Pick<StartSimulatorsOptions, 'publicHost'> {
  const production = env.NODE_ENV === 'production';
  const ports: Partial<Record<SimulatorName, number>> = {};
  for (const [name, variable] of Object.entries(PORT_VARIABLES) as Array<[SimulatorName, string]>) {
    const raw = env[variable];
    if (raw === undefined || raw === '') {
      ports[name] = DEFAULT_PORTS[name];
      continue;
    }
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value > 65535)
      throw new SimulatorsConfigError(variable, `must be a port in [0, 65535], got "${raw}"`);
    ports[name] = value;
  }

  const secrets: Partial<SimulatorSecrets> = {};
  for (const [field, variable] of REQUIRED_SECRETS) {
    const raw = env[variable];
    if (raw === undefined || raw === '') {
      if (production) throw new SimulatorsConfigError(variable, 'is required when NODE_ENV=production');
      secrets[field] = LOCAL_SECRETS[field];
    } else {
      secrets[field] = raw;
    }
  }
  if (env.GOOGLE_MAPS_API_KEY) secrets.googleMapsApiKey = env.GOOGLE_MAPS_API_KEY;
  if (env.HERE_API_KEY) secrets.hereApiKey = env.HERE_API_KEY;

  const webhookBase = env.PAYMENT_WEBHOOK_BASE_URL || 'http://127.0.0.1:3002';
  let parsed: URL;
  try {
    parsed = new URL(webhookBase);
  } catch {
    throw new SimulatorsConfigError(
      'PAYMENT_WEBHOOK_BASE_URL',
      `must be an http(s) URL, got "${webhookBase}"`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SimulatorsConfigError(
      'PAYMENT_WEBHOOK_BASE_URL',
      `must be an http(s) URL, got "${webhookBase}"`,
    );
  }

  const seedRaw = env.SIMULATORS_SEED;
  if (seedRaw !== undefined && seedRaw !== '' && !/^\d+$/.test(seedRaw)) {
    throw new SimulatorsConfigError('SIMULATORS_SEED', `must be a non-negative integer, got "${seedRaw}"`);
  }
  const host = env.SIMULATORS_HOST || '127.0.0.1';

  return {
    host,
    publicHost: env.SIMULATORS_PUBLIC_HOST || undefined,
    ports,
    secrets,
    paymentWebhookBaseUrl: webhookBase,
    seed: seedRaw ? Number(seedRaw) : 1,
  };
}
