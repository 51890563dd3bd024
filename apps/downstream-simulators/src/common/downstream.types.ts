/** Every external system the simulators play, in port order 4001-4007. */
export const DOWNSTREAMS = [
  'user-service',
  'bbd',
  'midtrans',
  'xendit',
  'nicepay',
  'google-maps',
  'here',
] as const;

/** Name of one simulated downstream, as used in `/faults/:downstream` and `/calls/:downstream`. */
export type DownstreamName = (typeof DOWNSTREAMS)[number];

/** A downstream or the fault-control API: everything that listens on a port. */
export type SimulatorName = 'control' | DownstreamName;

/** Default ports from API.md. */
export const DEFAULT_PORTS: Readonly<Record<SimulatorName, number>> = {
  control: 4000,
  'user-service': 4001,
  bbd: 4002,
  midtrans: 4003,
  xendit: 4004,
  nicepay: 4005,
  'google-maps': 4006,
  here: 4007,
};

/** Secrets the simulated gateways and map providers check. */
export interface SimulatorSecrets {
  midtransServerKey: string;
  xenditSecretKey: string;
  xenditCallbackToken: string;
  nicepayMerchantKey: string;
  nicepayImid: string;
  /** When unset, any non-empty `key` is accepted. */
  googleMapsApiKey?: string;
  /** When unset, any non-empty `apiKey` is accepted. */
  hereApiKey?: string;
}

/** Local (non-production) defaults shared with the payment processor, see API.md. */
export const LOCAL_SECRETS: Readonly<SimulatorSecrets> = {
  midtransServerKey: 'local-midtrans-server-key',
  xenditSecretKey: 'local-xendit-secret-key',
  xenditCallbackToken: 'local-xendit-callback-token',
  nicepayMerchantKey: 'local-nicepay-merchant-key',
  nicepayImid: 'LOCALIMID01',
};

/** Where the simulators report what they do; silent by default. */
export interface SimulatorsLogger {
  info(message: string): void;
  warn(message: string): void;
}

export const SILENT_LOGGER: SimulatorsLogger = { info: () => undefined, warn: () => undefined };

export function isDownstreamName(value: string): value is DownstreamName {
  return (DOWNSTREAMS as readonly string[]).includes(value);
}
