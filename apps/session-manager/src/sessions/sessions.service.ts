import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Clock } from '@app/resilience';
import { SESSION_MANAGER_CONFIG, SESSION_MANAGER_CLOCK } from '../config/session-manager.tokens';
import type { SessionManagerConfig } from '../config/session-manager.config';
import { computeFare } from '../routing/fare.calculator';
import { RoutePlanner } from '../routing/route.planner';
import type { LatLng } from '../routing/route.types';
import { SESSION_STORE, type SessionStore } from './session.store';
import type { Session } from './session.types';

const SESSION_ID = /^[0-9a-f-]{36}$/;

/** Prices a trip (route + tariff) and keeps the result as a session until its TTL passes. */
@Injectable()
export class SessionsService {
  constructor(
    private readonly planner: RoutePlanner,
    @Inject(SESSION_STORE) private readonly store: SessionStore,
    @Inject(SESSION_MANAGER_CONFIG) private readonly config: SessionManagerConfig,
    @Inject(SESSION_MANAGER_CLOCK) private readonly clock: Clock,
  ) {}

  async create(input: { userId: string; pickup: LatLng; dropoff: LatLng }): Promise<Session> {
    const pickup = { lat: input.pickup.lat, lng: input.pickup.lng };
    const dropoff = { lat: input.dropoff.lat, lng: input.dropoff.lng };
    // Checked before routing so a dead store never costs a provider call.
    this.store.assertAvailable();
    const route = await this.planner.plan(pickup, dropoff);
    const now = this.clock();
    const session: Session = {
      id: randomUUID(),
      userId: input.userId,
      pickup,
      dropoff,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.config.sessionTtlMs).toISOString(),
      quote: {
        distanceMeters: route.distanceMeters,
        durationSeconds: route.durationSeconds,
        fare: computeFare(route, this.config.tariff),
        provider: route.provider,
      },
    };
    await this.store.save(session);
    return session;
  }

  async get(id: string): Promise<Session | undefined> {
    if (!SESSION_ID.test(id)) return undefined;
    return this.store.get(id);
  }
}
