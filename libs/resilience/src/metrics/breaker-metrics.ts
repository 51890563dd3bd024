import { Counter, Gauge, type MetricValueWithName, type Registry } from 'prom-client';
import type { BreakerState } from '../breaker/breaker.types';

/** `result` label of circuit_breaker_requests_total. */
export type BreakerRequestResult = 'success' | 'failure' | 'rejected' | 'limited' | 'excluded';
/** Results of admitted calls, the ones with a duration. */
export type BreakerCallResult = 'success' | 'failure' | 'excluded';

export const BREAKER_STATE_METRIC = 'circuit_breaker_state';
export const BREAKER_REQUESTS_METRIC = 'circuit_breaker_requests_total';
export const BREAKER_TRANSITIONS_METRIC = 'circuit_breaker_transitions_total';
export const BREAKER_DURATION_METRIC = 'circuit_breaker_call_duration_seconds';
/** Upper bounds (seconds) of the call-duration histogram. */
export const BREAKER_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Gauge value of each state: 0 closed, 1 half-open, 2 open. */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = {
  closed: 0,
  'half-open': 1,
  open: 2,
};

const RESULTS: readonly BreakerRequestResult[] = ['success', 'failure', 'rejected', 'limited', 'excluded'];
const CALL_RESULTS: readonly BreakerCallResult[] = ['success', 'failure', 'excluded'];

class DurationSeries {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  readonly counts = new Array<number>(BREAKER_DURATION_BUCKETS.length + 1).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    const bounds = BREAKER_DURATION_BUCKETS;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    this.count++;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/**
 * One breaker's metrics. The hot path only bumps plain numbers here; they are published into
 * prom-client at scrape time (collect), so a call costs no label hashing.
 */
export class BreakerMetricsRecorder {
  success = 0;
  failure = 0;
  rejected = 0;
  limited = 0;
  excluded = 0;
  readonly durations: Record<BreakerCallResult, DurationSeries> = {
    success: new DurationSeries(),
    failure: new DurationSeries(),
    excluded: new DurationSeries(),
  };
  private readonly transitionChildren = new Map<string, { inc(value?: number): void }>();

  constructor(
    readonly name: string,
    readonly stateValue: () => number,
    private readonly hub: BreakerMetrics,
  ) {}

  /** Records an admitted call's result and duration. */
  observe(result: BreakerCallResult, seconds: number): void {
    this[result]++;
    this.durations[result].observe(seconds);
  }

  /** Transitions are rare; they go to prom-client at once so no transition is lost between scrapes. */
  transition(from: BreakerState, to: BreakerState): void {
    const key = `${from}>${to}`;
    let child = this.transitionChildren.get(key);
    if (child === undefined) {
      child = this.hub.transitions.labels(this.name, from, to);
      this.transitionChildren.set(key, child);
    }
    child.inc();
  }

  /** Stops publishing this breaker (its series stay with their last values). */
  close(): void {
    this.hub.unregister(this);
  }
}

/** The call-duration histogram, assembled at scrape from the recorders' local buckets. */
class BreakerDurationHistogram {
  readonly name = BREAKER_DURATION_METRIC;
  readonly help = 'Duration of calls admitted by a circuit breaker';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['name', 'result'];

  constructor(readonly hub: BreakerMetrics) {}

  /** prom-client's metric protocol: what the Registry formats at scrape. */
  get(): Promise<{
    name: string;
    help: string;
    type: string;
    values: MetricValueWithName<string>[];
    aggregator: string;
  }> {
    const values: MetricValueWithName<string>[] = [];
    const merged = new Map<string, { counts: number[]; sum: number; count: number }>();
    for (const r of this.hub.recorders) {
      for (const result of CALL_RESULTS) {
        const s = r.durations[result];
        const key = `${r.name}\u0000${result}`;
        const acc = merged.get(key) ?? {
          counts: new Array<number>(s.counts.length).fill(0),
          sum: 0,
          count: 0,
        };
        s.counts.forEach((c, i) => (acc.counts[i]! += c));
        acc.sum += s.sum;
        acc.count += s.count;
        merged.set(key, acc);
      }
    }
    for (const [key, acc] of merged) {
      const [name, result] = key.split('\u0000') as [string, string];
      let cumulative = 0;
      BREAKER_DURATION_BUCKETS.forEach((le, i) => {
        cumulative += acc.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { name, result, le }, value: cumulative });
      });
      values.push({
        metricName: `${this.name}_bucket`,
        labels: { name, result, le: '+Inf' },
        value: acc.count,
      });
      values.push({ metricName: `${this.name}_sum`, labels: { name, result }, value: acc.sum });
      values.push({ metricName: `${this.name}_count`, labels: { name, result }, value: acc.count });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: 'sum',
    });
  }

  reset(): void {
    for (const r of this.hub.recorders) for (const result of CALL_RESULTS) r.durations[result].reset();
  }
}

type HubCarrier = { breakerMetricsHub?: BreakerMetrics };

/**
 * The four breaker metrics of one prom-client Registry. One per registry: managers that share a
 * registry share it (found again through `registry.getSingleMetric`), so names never collide.
 */
export class BreakerMetrics {
  readonly recorders = new Set<BreakerMetricsRecorder>();
  readonly state: Gauge<'name'>;
  readonly requests: Counter<'name' | 'result'>;
  readonly transitions: Counter<'name' | 'from' | 'to'>;
  readonly durations: BreakerDurationHistogram;

  private constructor(readonly registry: Registry) {
    const state =
      (registry.getSingleMetric(BREAKER_STATE_METRIC) as Gauge<'name'> | undefined) ??
      new Gauge({
        name: BREAKER_STATE_METRIC,
        help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
        labelNames: ['name'],
        registers: [registry],
        collect: () => {
          for (const r of this.recorders) state.set({ name: r.name }, r.stateValue());
        },
      });
    this.state = state;
    const requests =
      (registry.getSingleMetric(BREAKER_REQUESTS_METRIC) as Counter<'name' | 'result'> | undefined) ??
      new Counter({
        name: BREAKER_REQUESTS_METRIC,
        help: 'Calls through a circuit breaker by result (success, failure, rejected, limited, excluded)',
        labelNames: ['name', 'result'],
        registers: [registry],
        collect: () => this.flush(),
      });
    this.requests = requests;
    this.transitions =
      (registry.getSingleMetric(BREAKER_TRANSITIONS_METRIC) as Counter<'name' | 'from' | 'to'> | undefined) ??
      new Counter({
        name: BREAKER_TRANSITIONS_METRIC,
        help: 'Circuit breaker state transitions',
        labelNames: ['name', 'from', 'to'],
        registers: [registry],
      });
    const existing = registry.getSingleMetric(BREAKER_DURATION_METRIC) as unknown as
      BreakerDurationHistogram | undefined;
    this.durations = existing ?? new BreakerDurationHistogram(this);
    if (existing === undefined) registry.registerMetric(this.durations as never);
    (state as HubCarrier).breakerMetricsHub = this;
  }

  /** The hub of `registry`, created (with its metrics) on first use. */
  static forRegistry(registry: Registry): BreakerMetrics {
    const carrier = registry.getSingleMetric(BREAKER_STATE_METRIC) as HubCarrier | undefined;
    return carrier?.breakerMetricsHub ?? new BreakerMetrics(registry);
  }

  /** Starts publishing one breaker; every series exists from now on. */
  register(name: string, stateValue: () => number): BreakerMetricsRecorder {
    const recorder = new BreakerMetricsRecorder(name, stateValue, this);
    this.recorders.add(recorder);
    this.state.set({ name }, stateValue());
    for (const result of RESULTS) this.requests.inc({ name, result }, 0);
    return recorder;
  }

  unregister(recorder: BreakerMetricsRecorder): void {
    this.flushOne(recorder);
    this.recorders.delete(recorder);
  }

  /** Publishes the pending request counts into prom-client. */
  flush(): void {
    for (const r of this.recorders) this.flushOne(r);
  }

  private flushOne(r: BreakerMetricsRecorder): void {
    for (const result of RESULTS) {
      const delta = r[result];
      if (delta > 0) {
        this.requests.inc({ name: r.name, result }, delta);
        r[result] = 0;
      }
    }
  }
}
