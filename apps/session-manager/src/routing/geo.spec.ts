import { estimateRoute, haversineMeters, routeCacheKey } from './geo';

describe('geo', () => {
  it('measures a known great-circle distance (Monas → Bundaran HI ≈ 2.2 km)', () => {
    const d = haversineMeters({ lat: -6.1754, lng: 106.8272 }, { lat: -6.1949, lng: 106.823 });
    expect(d).toBeGreaterThan(2100);
    expect(d).toBeLessThan(2300);
  });

  it('estimates with the detour factor and average speed', () => {
    const from = { lat: -6.2, lng: 106.8 };
    const to = { lat: -6.21, lng: 106.8 };
    const straight = haversineMeters(from, to);
    const route = estimateRoute(from, to, 1.5, 36);
    expect(route.distanceMeters).toBe(Math.round(straight * 1.5));
    expect(route.durationSeconds).toBe(Math.round(route.distanceMeters / 10));
  });

  it('keys nearby pairs alike and distant pairs apart', () => {
    const a = routeCacheKey({ lat: -6.20001, lng: 106.80004 }, { lat: -6.3, lng: 106.9 });
    const b = routeCacheKey({ lat: -6.20024, lng: 106.79996 }, { lat: -6.30004, lng: 106.9 });
    const c = routeCacheKey({ lat: -6.201, lng: 106.8 }, { lat: -6.3, lng: 106.9 });
    expect(a).toBe(b);
    expect(a).not.toBe(c);
    expect(routeCacheKey({ lat: -0.0001, lng: 0 }, { lat: 0, lng: 0 })).toBe('0.000,0.000>0.000,0.000');
  });
});
