import {
  DEFAULT_PORTS,
  DOWNSTREAMS,
  isDownstreamName,
  LOCAL_SECRETS,
  SILENT_LOGGER,
  type DownstreamName,
  type SimulatorName,
  type SimulatorSecrets,
  type SimulatorsLogger,
} from './common/downstream.types';
import { CallCounters, type CallCounts } from './faults/call.counters';
import { FaultRegistry } from './faults/fault.registry';
import { FaultSpecError, type ActiveFault, type FaultSpec } from './faults/fault.types';
import { BbdSimulator, type BbdOrderView } from './downstreams/bbd.simulator';
import { createGoogleMapsSimulator } from './downstreams/google-maps.simulator';
import { createHereSimulator } from './downstreams/here.simulator';
import { MidtransSimulator } from './downstreams/midtrans.simulator';
import { nestError } from './downstreams/nest-error.util';
import { NicepaySimulator } from './downstreams/nicepay.simulator';
import { createUserServiceSimulator } from './downstreams/user-service.simulator';
import { XenditSimulator } from './downstreams/xendit.simulator';
import type { DownstreamDefinition, RouteDefinition, SimRequest, SimResponse } from './http/http.types';
import { SimulatorServer } from './http/simulator.server';

export { DEFAULT_PORTS, DOWNSTREAMS, LOCAL_SECRETS, isDownstreamName };

/** Every simulator on an ephemeral port: what in-process tests pass as `ports`. */
export const EPHEMERAL_PORTS: Readonly<Record<SimulatorName, 0>> = {
  control: 0,
  'user-service': 0,
  bbd: 0,
  midtrans: 0,
  xendit: 0,
  nicepay: 0,
  'google-maps': 0,
  here: 0,
};
export type { DownstreamName, SimulatorName, SimulatorSecrets, SimulatorsLogger };
export type { ActiveFault, FaultSpec, CallCounts, BbdOrderView };
export { FaultSpecError };
export type { FaultMode } from './faults/fault.types';

/** Options of {@link startSimulators}; everything has a local default. */
export interface StartSimulatorsOptions {
  /** Interface to bind (default 127.0.0.1). */
  host?: string;
  /** Host in the payment links handed out (default: the bind host; 127.0.0.1 for 0.0.0.0 / ::). */
  publicHost?: string;
  /** Ports per simulator; 0 = ephemeral. Missing ones use API.md's 4000-4007. */
  ports?: Partial<Record<SimulatorName, number>>;
  /** Gateway and map secrets; missing ones use the local defaults of API.md. */
  secrets?: Partial<SimulatorSecrets>;
  /** Base URL of the payment processor; notifications go to `${base}/webhooks/<gateway>`. */
  paymentWebhookBaseUrl?: string;
  /** Clock in ms (timestamps, BBD timeline, map speeds by hour); default Date.now. */
  clock?: () => number;
  /** Seed of every generated id, vehicle and flaky draw (default 1). */
  seed?: number;
  /** Where to report; silent by default. */
  logger?: SimulatorsLogger;
}

/** Programmatic access to the active faults (the same store the control API uses). */
export interface FaultController {
  /** Validates and applies a fault; resolves once a `refuse` has closed the port. Throws FaultSpecError. */
  set(downstream: DownstreamName, fault: FaultSpec): Promise<ActiveFault>;
  /** Heals one downstream, or all when omitted; resolves once a refused port listens again. */
  clear(downstream?: DownstreamName): Promise<void>;
  list(): ActiveFault[];
}

/** Running simulators. */
export interface Simulators {
  /** Base URL per downstream, e.g. `http://127.0.0.1:4002` for bbd. */
  readonly urls: Readonly<Record<DownstreamName, string>>;
  /** Base URL of the fault-control API. */
  readonly controlUrl: string;
  readonly faults: FaultController;
  /** Requests a downstream received per route since the last reset. */
  calls(downstream: DownstreamName): CallCounts;
  resetCalls(): void;
  /** Every order BBD holds (same as `GET /v1/_orders`), usable while BBD refuses connections. */
  bbdOrders(): BbdOrderView[];
  /** Closes every listener and socket (hung ones included). */
  stop(): Promise<void>;
}

/** Starts the fault-control API and the seven simulated downstreams. */
export async function startSimulators(options: StartSimulatorsOptions = {}): Promise<Simulators> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? Date.now;
  const seed = options.seed ?? 1;
  const logger = options.logger ?? SILENT_LOGGER;
  const secrets: SimulatorSecrets = { ...LOCAL_SECRETS, ...stripUndefined(options.secrets ?? {}) };
  const webhookBase = (options.paymentWebhookBaseUrl ?? 'http://127.0.0.1:3002').replace(/\/+$/, '');
  const port = (name: SimulatorName): number => options.ports?.[name] ?? DEFAULT_PORTS[name];

  const bbd = new BbdSimulator(seed, clock);
  const definitions: Record<DownstreamName, DownstreamDefinition> = {
    'user-service': createUserServiceSimulator(seed),
    bbd: bbd.definition(),
    midtrans: new MidtransSimulator({
      serverKey: secrets.midtransServerKey,
      webhookUrl: `${webhookBase}/webhooks/midtrans`,
      clock,
      seed,
    }).definition(),
    xendit: new XenditSimulator({
      secretKey: secrets.xenditSecretKey,
      callbackToken: secrets.xenditCallbackToken,
      webhookUrl: `${webhookBase}/webhooks/xendit`,
      clock,
      seed,
    }).definition(),
    nicepay: new NicepaySimulator({
      merchantKey: secrets.nicepayMerchantKey,
      iMid: secrets.nicepayImid,
      webhookUrl: `${webhookBase}/webhooks/nicepay`,
      clock,
      seed,
    }).definition(),
    'google-maps': createGoogleMapsSimulator({ clock, apiKey: secrets.googleMapsApiKey }),
    here: createHereSimulator({ clock, apiKey: secrets.hereApiKey }),
  };

  const routeNames = Object.fromEntries(
    DOWNSTREAMS.map((name) => [
      name,
      definitions[name].routes.filter((r) => !r.simulatorOnly).map((r) => r.name),
    ]),
  ) as Record<DownstreamName, string[]>;
  const registry = new FaultRegistry(routeNames, seed, clock);
  const counters = new CallCounters();

  const servers = Object.fromEntries(
    DOWNSTREAMS.map((name) => [
      name,
      new SimulatorServer({
        name,
        host,
        publicHost: options.publicHost,
        port: port(name),
        routes: definitions[name].routes,
        errorResponse: definitions[name].errorResponse,
        findFault: (routeName, path) => registry.find(name, routeName, path),
        onCall: (routeName) => counters.record(name, routeName),
        logger,
      }),
    ]),
  ) as Record<DownstreamName, SimulatorServer>;

  // Serialised so a PUT refuse followed at once by DELETE never races listen against close.
  let portChanges = Promise.resolve();
  const syncListeners = (): Promise<void> => {
    portChanges = portChanges.then(async () => {
      for (const name of DOWNSTREAMS) {
        if (registry.isRefused(name)) await servers[name].refuse();
        else await servers[name].heal();
      }
    });
    return portChanges;
  };

  const faults: FaultController = {
    async set(downstream, fault) {
      const active = registry.set(downstream, fault);
      logger.info(`fault set on ${downstream}: ${JSON.stringify(fault)}`);
      await syncListeners();
      return active;
    },
    async clear(downstream) {
      registry.clear(downstream);
      logger.info(`faults cleared on ${downstream ?? 'every downstream'}`);
      await syncListeners();
    },
    list: () => registry.list(),
  };

  const control = new SimulatorServer({
    name: 'control',
    host,
    port: port('control'),
    routes: controlRoutes(faults, counters, routeNames, () => urls),
    errorResponse: (status, _route, message) => nestError(status, message),
    logger,
  });

  const all = [control, ...DOWNSTREAMS.map((name) => servers[name])];
  try {
    await Promise.all(all.map((server) => server.listen()));
  } catch (error: unknown) {
    await Promise.all(all.map((server) => server.stop()));
    throw error;
  }
  const urls = Object.fromEntries(DOWNSTREAMS.map((name) => [name, servers[name].url])) as Record<
    DownstreamName,
    string
  >;
  logger.info(`fault-control API listening on ${control.url}`);
  for (const name of DOWNSTREAMS) logger.info(`${name} simulator listening on ${urls[name]}`);

  let stopping: Promise<void> | undefined;
  return {
    urls,
    controlUrl: control.url,
    faults,
    calls: (downstream) => counters.get(downstream),
    resetCalls: () => counters.reset(),
    bbdOrders: () => bbd.listOrders(),
    stop: () => {
      stopping ??= portChanges
        .then(() => Promise.all(all.map((server) => server.stop())))
        .then(() => undefined);
      return stopping;
    },
  };
}

function controlRoutes(
  faults: FaultController,
  counters: CallCounters,
  routeNames: Record<DownstreamName, string[]>,
  urls: () => Record<DownstreamName, string>,
): RouteDefinition[] {
  const withDownstream =
    (handler: (downstream: DownstreamName, request: SimRequest) => SimResponse | Promise<SimResponse>) =>
    (request: SimRequest): SimResponse | Promise<SimResponse> => {
      const { downstream } = request.params;
      if (!isDownstreamName(downstream)) {
        return nestError(404, `unknown downstream ${downstream}; expected one of: ${DOWNSTREAMS.join(', ')}`);
      }
      return handler(downstream, request);
    };
  return [
    {
      name: 'index',
      method: 'GET',
      path: '/',
      handle: () => ({ status: 200, body: { status: 'ok', downstreams: urls(), routes: routeNames } }),
    },
    {
      name: 'health',
      method: 'GET',
      path: '/health/live',
      handle: () => ({ status: 200, body: { status: 'ok' } }),
    },
    {
      name: 'list-faults',
      method: 'GET',
      path: '/faults',
      handle: () => ({ status: 200, body: { faults: faults.list() } }),
    },
    {
      name: 'set-fault',
      method: 'PUT',
      path: '/faults/:downstream',
      handle: withDownstream(async (downstream, { body, bodyError }) => {
        if (bodyError !== undefined) return nestError(400, `body: ${bodyError}`);
        try {
          return { status: 200, body: await faults.set(downstream, body as FaultSpec) };
        } catch (error: unknown) {
          if (error instanceof FaultSpecError) return nestError(400, error.message, { field: error.field });
          throw error;
        }
      }),
    },
    {
      name: 'clear-fault',
      method: 'DELETE',
      path: '/faults/:downstream',
      handle: withDownstream(async (downstream) => {
        await faults.clear(downstream);
        return { status: 200, body: { faults: faults.list() } };
      }),
    },
    {
      name: 'clear-faults',
      method: 'DELETE',
      path: '/faults',
      handle: async () => {
        await faults.clear();
        return { status: 200, body: { faults: [] } };
      },
    },
    {
      name: 'all-calls',
      method: 'GET',
      path: '/calls',
      handle: () => ({ status: 200, body: { calls: counters.all() } }),
    },
    {
      name: 'calls',
      method: 'GET',
      path: '/calls/:downstream',
      handle: withDownstream((downstream) => ({ status: 200, body: counters.get(downstream) })),
    },
    {
      name: 'reset-calls',
      method: 'DELETE',
      path: '/calls',
      handle: () => {
        counters.reset();
        return { status: 200, body: { calls: counters.all() } };
      },
    },
  ];
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
