import { DOWNSTREAMS, type DownstreamName } from '../common/downstream.types';

/** Requests one downstream received, per route name (unknown paths count as `unmatched`). */
export interface CallCounts {
  downstream: DownstreamName;
  total: number;
  routes: Record<string, number>;
}

/** In-memory per-route request counters. */
export class CallCounters {
  private readonly counts = new Map<DownstreamName, Map<string, number>>();

  record(downstream: DownstreamName, routeName: string): void {
    const routes = this.counts.get(downstream) ?? new Map<string, number>();
    routes.set(routeName, (routes.get(routeName) ?? 0) + 1);
    this.counts.set(downstream, routes);
  }

  get(downstream: DownstreamName): CallCounts {
    const routes = Object.fromEntries(this.counts.get(downstream) ?? []);
    const total = Object.values(routes).reduce((sum, n) => sum + n, 0);
    return { downstream, total, routes };
  }

  all(): CallCounts[] {
    return DOWNSTREAMS.map((name) => this.get(name));
  }

  reset(): void {
    this.counts.clear();
  }
}
