import type { Tariff } from '../config/session-manager.config';
import type { Route } from './route.types';

export interface Fare {
  amount: number;
  currency: 'IDR';
}

/** Flag fall + per km + per minute, rounded to a whole rupiah, never below the minimum fare. */
export function computeFare(route: Route, tariff: Tariff): Fare {
  const raw =
    tariff.flagFallIdr +
    (tariff.perKmIdr * route.distanceMeters) / 1000 +
    (tariff.perMinuteIdr * route.durationSeconds) / 60;
  return { amount: Math.max(tariff.minimumFareIdr, Math.round(raw)), currency: 'IDR' };
}
