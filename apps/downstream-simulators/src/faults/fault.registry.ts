import { hashString, isRecord, seededRandom } from '../common/deterministic.util';
import type { DownstreamName } from '../common/downstream.types';
import { FAULT_MODES, FaultSpecError, type ActiveFault, type FaultMode, type FaultSpec } from './fault.types';

const ALLOWED_FIELDS = new Set(['mode', 'status', 'latencyMs', 'failureRate', 'route']);
const MAX_LATENCY_MS = 600_000;

/** A fault as the servers consult it: the spec plus its own seeded random stream. */
export interface FaultEntry {
  fault: ActiveFault;
  random: () => number;
}

/**
 * Validates an unknown fault body; throws {@link FaultSpecError} naming the field.
 * `routeNames` are the named routes of the downstream (path prefixes are always accepted).
 */
export function parseFaultSpec(body: unknown, routeNames: readonly string[]): FaultSpec {
  if (!isRecord(body)) throw new FaultSpecError('body', 'body must be a JSON object');
  for (const key of Object.keys(body)) {
    if (!ALLOWED_FIELDS.has(key)) throw new FaultSpecError(key, `property ${key} should not exist`);
  }
  const { mode, status, latencyMs, failureRate, route } = body;
  if (typeof mode !== 'string' || !(FAULT_MODES as readonly string[]).includes(mode)) {
    throw new FaultSpecError('mode', `mode must be one of: ${FAULT_MODES.join(', ')}`);
  }
  const spec: FaultSpec = { mode: mode as FaultMode };
  if (status !== undefined) {
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
      throw new FaultSpecError('status', 'status must be an integer in [200, 599]');
    }
    spec.status = status;
  }
  if (latencyMs !== undefined) {
    if (
      typeof latencyMs !== 'number' ||
      !Number.isInteger(latencyMs) ||
      latencyMs < 0 ||
      latencyMs > MAX_LATENCY_MS
    ) {
      throw new FaultSpecError('latencyMs', `latencyMs must be an integer in [0, ${MAX_LATENCY_MS}]`);
    }
    spec.latencyMs = latencyMs;
  } else if (spec.mode === 'latency') {
    throw new FaultSpecError('latencyMs', 'latencyMs is required for mode latency');
  }
  if (failureRate !== undefined) {
    if (
      typeof failureRate !== 'number' ||
      !Number.isFinite(failureRate) ||
      failureRate < 0 ||
      failureRate > 1
    ) {
      throw new FaultSpecError('failureRate', 'failureRate must be a number in [0, 1]');
    }
    spec.failureRate = failureRate;
  } else if (spec.mode === 'flaky') {
    throw new FaultSpecError('failureRate', 'failureRate is required for mode flaky');
  }
  if (route !== undefined) {
    if (typeof route !== 'string' || route.trim() === '') {
      throw new FaultSpecError('route', 'route must be a non-empty string');
    }
    if (spec.mode === 'refuse') {
      throw new FaultSpecError('route', 'route cannot be used with mode refuse (it closes the whole port)');
    }
    if (!route.startsWith('/') && !routeNames.includes(route)) {
      throw new FaultSpecError('route', `route must be a path prefix or one of: ${routeNames.join(', ')}`);
    }
    spec.route = route;
  }
  return spec;
}

/** In-memory faults, at most one per (downstream, route scope); route-scoped ones win. */
export class FaultRegistry {
  private readonly entries = new Map<string, FaultEntry>();
  private generation = 0;

  constructor(
    private readonly routeNames: Readonly<Record<DownstreamName, readonly string[]>>,
    private readonly seed: number,
    private readonly clock: () => number,
  ) {}

  /** Validates and stores a fault, replacing one with the same scope. */
  set(downstream: DownstreamName, body: unknown): ActiveFault {
    const spec = parseFaultSpec(body, this.routeNames[downstream]);
    const fault: ActiveFault = { downstream, ...spec, since: new Date(this.clock()).toISOString() };
    // Each PUT restarts the stream so a flaky run is reproducible from the moment it is set.
    const random = seededRandom(
      hashString(`${this.seed}:${downstream}:${spec.route ?? ''}:${this.generation++}`),
    );
    this.entries.set(key(downstream, spec.route), { fault, random });
    return fault;
  }

  /** Removes every fault of `downstream`, or all faults when omitted. */
  clear(downstream?: DownstreamName): void {
    for (const [k, entry] of this.entries) {
      if (downstream === undefined || entry.fault.downstream === downstream) this.entries.delete(k);
    }
  }

  list(): ActiveFault[] {
    return [...this.entries.values()].map((entry) => ({ ...entry.fault }));
  }

  isRefused(downstream: DownstreamName): boolean {
    return this.entries.get(key(downstream, undefined))?.fault.mode === 'refuse';
  }

  /** The fault that applies to a request: a route-scoped one first, then the downstream-wide one. */
  find(downstream: DownstreamName, routeName: string, path: string): FaultEntry | undefined {
    let best: FaultEntry | undefined;
    for (const entry of this.entries.values()) {
      const { fault } = entry;
      if (fault.downstream !== downstream || fault.route === undefined) continue;
      const matches = fault.route.startsWith('/') ? path.startsWith(fault.route) : fault.route === routeName;
      if (matches && (best === undefined || (best.fault.route ?? '').length < fault.route.length))
        best = entry;
    }
    return best ?? this.entries.get(key(downstream, undefined));
  }
}

function key(downstream: DownstreamName, route: string | undefined): string {
  return `${downstream}\u0000${route ?? ''}`;
}
