import {
  Inject,
  Injectable,
  Logger,
  Module,
  type DynamicModule,
  type OnApplicationShutdown,
} from '@nestjs/common';
import {
  ResilientHttpClient,
  StaleCache,
  createStaleCacheRedis,
  getBreakerToken,
  ResilienceModule,
  type Breaker,
  type Clock,
} from '@app/resilience';
import IORedis from 'ioredis';
import type { Registry } from 'prom-client';
import { GoogleMapsClient } from '../clients/google-maps.client';
import { HereMapsClient } from '../clients/here-maps.client';
import type { SessionManagerConfig } from '../config/session-manager.config';
import { SESSION_MANAGER_CLOCK, SESSION_MANAGER_CONFIG } from '../config/session-manager.tokens';
import { RoutePlanner } from '../routing/route.planner';
import type { PlannedRoute } from '../routing/route.types';
import { MemorySessionStore } from './memory-session.store';
import { RedisSessionStore } from './redis-session.store';
import { SESSION_STORE, type SessionStore } from './session.store';
import { SessionsController } from './sessions.controller';
import { SessionsService } from './sessions.service';

export const SESSION_MANAGER_BREAKERS = ['google-maps', 'here-maps'] as const;

/** Closes the session store, the route cache's Redis and the map clients' sockets on shutdown. */
@Injectable()
class SessionsCloser implements OnApplicationShutdown {
  constructor(
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    private readonly planner: RoutePlanner,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.store.close(), this.planner.close()]);
  }
}

/** Builds the session store: Redis when configured (fails fast while down), else in process. */
export async function createSessionStore(config: SessionManagerConfig, clock: Clock): Promise<SessionStore> {
  if (config.redisUrl === undefined) return new MemorySessionStore(clock);
  const redis = new IORedis(config.redisUrl, {
    enableOfflineQueue: false,
    commandTimeout: 500,
    maxRetriesPerRequest: 1,
    connectTimeout: 1000,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  redis.on('error', () => undefined); // reported through readiness and 503s, not as unhandled errors
  const store = new RedisSessionStore(redis, clock);
  await store.waitUntilReady(2000);
  return store;
}

/** POST/GET /sessions: routing (providers, cache, estimate), pricing and the session store. */
@Module({})
export class SessionsModule {
  static register(config: SessionManagerConfig, registry: Registry, clock: Clock): DynamicModule {
    const logger = new Logger('RoutePlanner');
    return {
      module: SessionsModule,
      imports: [ResilienceModule.forFeature([...SESSION_MANAGER_BREAKERS])],
      controllers: [SessionsController],
      providers: [
        { provide: SESSION_MANAGER_CONFIG, useValue: config },
        { provide: SESSION_MANAGER_CLOCK, useValue: clock },
        { provide: SESSION_STORE, useFactory: () => createSessionStore(config, clock) },
        SessionsCloser,
        {
          provide: RoutePlanner,
          inject: [getBreakerToken('google-maps'), getBreakerToken('here-maps')],
          useFactory: (googleBreaker: Breaker, hereBreaker: Breaker) => {
            // No breaker on the HTTP clients: failover() runs each call through its breaker.
            const http = (downstream: string, baseUrl: string) =>
              new ResilientHttpClient({ downstream, baseUrl, registry, clock, maxSockets: 20 });
            const cacheRedis =
              config.redisUrl === undefined ? undefined : createStaleCacheRedis(config.redisUrl);
            cacheRedis?.on('error', () => undefined); // counted by the cache as stale_cache_redis_errors_total
            const cache = new StaleCache<PlannedRoute>({
              name: 'routes',
              redis: cacheRedis,
              clock,
              registry,
              maxEntries: 50_000,
            });
            const googleHttp = http('google-maps', config.googleMapsUrl);
            const hereHttp = http('here', config.hereUrl);
            return new RoutePlanner({
              google: {
                client: new GoogleMapsClient(googleHttp, config.googleMapsApiKey),
                breaker: googleBreaker,
              },
              here: { client: new HereMapsClient(hereHttp, config.hereApiKey), breaker: hereBreaker },
              cache,
              cacheTtlMs: config.routeCacheTtlMs,
              estimate: config.estimate,
              registry,
              logger,
              onClose: async () => {
                googleHttp.close();
                hereHttp.close();
                cacheRedis?.disconnect();
              },
            });
          },
        },
        SessionsService,
      ],
      exports: [SESSION_STORE],
    };
  }
}
