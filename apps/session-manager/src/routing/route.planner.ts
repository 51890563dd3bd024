import type { LoggerService } from '@nestjs/common';
import { failover, type Breaker, type FailoverProvider, type StaleCache } from '@app/resilience';
import type { Counter, Registry } from 'prom-client';
import { Counter as PromCounter } from 'prom-client';
import type { GoogleMapsClient } from '../clients/google-maps.client';
import type { HereMapsClient } from '../clients/here-maps.client';
import type { EstimateSettings } from '../config/session-manager.config';
import { estimateRoute, routeCacheKey } from './geo';
import type { LatLng, PlannedRoute, RouteProvider } from './route.types';

export interface RoutePlannerOptions {
  google: { client: GoogleMapsClient; breaker: Breaker };
  here: { client: HereMapsClient; breaker: Breaker };
  /** Every provider route is stored here; served (as provider "cache") when both providers fail. */
  cache: StaleCache<PlannedRoute>;
  /** How long a stored route may stand in for the providers. */
  cacheTtlMs: number;
  estimate: EstimateSettings;
  registry: Registry;
  logger: LoggerService;
  /** Releases what the planner was built with (sockets, Redis). */
  onClose?: () => Promise<void>;
}

/**
 * google-maps → here (failover, each behind its breaker) → the route cache → a straight-line
 * estimate. Never throws: the estimate is always available.
 */
export class RoutePlanner {
  private readonly routes: Counter<'provider'>;

  constructor(private readonly options: RoutePlannerOptions) {
    this.routes =
      (options.registry.getSingleMetric('session_routes_total') as Counter<'provider'> | undefined) ??
      new PromCounter({
        name: 'session_routes_total',
        help: 'Session quotes by the source of their route',
        labelNames: ['provider'],
        registers: [options.registry],
      });
  }

  async close(): Promise<void> {
    await this.options.onClose?.();
  }

  async plan(from: LatLng, to: LatLng): Promise<PlannedRoute> {
    const route = await this.routeOf(from, to);
    this.routes.inc({ provider: route.provider });
    return route;
  }

  private async routeOf(from: LatLng, to: LatLng): Promise<PlannedRoute> {
    const key = routeCacheKey(from, to);
    try {
      // Fresh TTL 0: the providers are always asked first; the cache only answers when they fail.
      const result = await this.options.cache.getWithFallback(key, () => this.fromProviders(from, to), {
        freshTtlMs: 0,
        staleTtlMs: this.options.cacheTtlMs,
      });
      return result.source === 'stale' ? { ...result.value, provider: 'cache' } : result.value;
    } catch (err: unknown) {
      this.options.logger.warn?.(`no provider or cached route for ${key}, estimating: ${describe(err)}`);
      const { detourFactor, averageSpeedKph } = this.options.estimate;
      return { ...estimateRoute(from, to, detourFactor, averageSpeedKph), provider: 'estimate' };
    }
  }

  private async fromProviders(from: LatLng, to: LatLng): Promise<PlannedRoute> {
    const { google, here } = this.options;
    const provider = (
      name: RouteProvider,
      breaker: Breaker,
      route: (signal: AbortSignal) => Promise<{ distanceMeters: number; durationSeconds: number }>,
    ): FailoverProvider<PlannedRoute> => ({
      name,
      breaker,
      call: async (signal) => ({ ...(await route(signal)), provider: name }),
      // A route lookup has no side effect: any failure is safe to move past.
      classify: () => 'safe',
    });
    const { value } = await failover(
      [
        provider('google-maps', google.breaker, (signal) => google.client.route(from, to, signal)),
        provider('here', here.breaker, (signal) => here.client.route(from, to, signal)),
      ],
      { group: 'maps', registry: this.options.registry, logger: this.options.logger },
    );
    return value;
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
