import { haversineMeters, type LatLng } from '../common/deterministic.util';

/** How one map provider differs from the shared road model. */
export interface RoadProfile {
  /** Road distance ÷ great-circle distance. */
  detourFactor: number;
  /** Multiplier on the hourly speed table. */
  speedFactor: number;
  /** Fixed seconds added to every non-empty route (junctions, pick-up). */
  overheadSeconds: number;
}

export const GOOGLE_MAPS_PROFILE: RoadProfile = { detourFactor: 1.3, speedFactor: 1, overheadSeconds: 60 };
export const HERE_PROFILE: RoadProfile = { detourFactor: 1.27, speedFactor: 0.95, overheadSeconds: 45 };

/** Jakarta speeds in km/h by local hour (UTC+7): slow at rush hours, fast at night. */
const SPEED_KPH_BY_HOUR = [
  40, 40, 40, 40, 38, 32, 22, 17, 17, 20, 24, 24, 24, 24, 24, 22, 19, 17, 17, 20, 26, 30, 34, 38,
];

/** Local hour (UTC+7) of a clock reading. */
export function jakartaHour(atMs: number): number {
  return new Date(atMs + 7 * 3_600_000).getUTCHours();
}

/** Road distance (m) and duration (s) between two points at a given time. */
export function estimateRoute(
  from: LatLng,
  to: LatLng,
  atMs: number,
  profile: RoadProfile,
): { distanceMeters: number; durationSeconds: number } {
  const distanceMeters = Math.round(haversineMeters(from, to) * profile.detourFactor);
  if (distanceMeters === 0) return { distanceMeters: 0, durationSeconds: 0 };
  const metersPerSecond = (SPEED_KPH_BY_HOUR[jakartaHour(atMs)] * profile.speedFactor) / 3.6;
  return {
    distanceMeters,
    durationSeconds: Math.round(distanceMeters / metersPerSecond) + profile.overheadSeconds,
  };
}
