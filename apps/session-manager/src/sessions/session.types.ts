import type { Fare } from '../routing/fare.calculator';
import type { LatLng, RouteProvider } from '../routing/route.types';

/** A priced search, as POST /sessions answers it and the orchestrator reads it. */
export interface Session {
  id: string;
  userId: string;
  pickup: LatLng;
  dropoff: LatLng;
  createdAt: string;
  /** ISO time after which the session no longer exists. */
  expiresAt: string;
  quote: {
    distanceMeters: number;
    durationSeconds: number;
    fare: Fare;
    provider: RouteProvider;
  };
}
