import type { LatLng, Route } from './route.types';

const EARTH_RADIUS_METERS = 6_371_008.8;

/** Great-circle distance in metres. */
export function haversineMeters(a: LatLng, b: LatLng): number {
  const rad = (deg: number): number => (deg * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_RADIUS_METERS * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Straight line × detour factor at an average speed: the answer of last resort. */
export function estimateRoute(
  from: LatLng,
  to: LatLng,
  detourFactor: number,
  averageSpeedKph: number,
): Route {
  const distanceMeters = Math.round(haversineMeters(from, to) * detourFactor);
  const durationSeconds = Math.round(distanceMeters / (averageSpeedKph / 3.6));
  return { distanceMeters, durationSeconds };
}

/** A coordinate rounded to 3 decimals (~100 m), without a "-0.000". */
function rounded(value: number): string {
  const r = Math.round(value * 1000) / 1000;
  return (r === 0 ? 0 : r).toFixed(3);
}

/** Route-cache key: the pair rounded to ~100 m, so nearby searches share a cached route. */
export function routeCacheKey(from: LatLng, to: LatLng): string {
  return `${rounded(from.lat)},${rounded(from.lng)}>${rounded(to.lat)},${rounded(to.lng)}`;
}
