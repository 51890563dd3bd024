/** A point on the map, degrees. */
export interface LatLng {
  lat: number;
  lng: number;
}

/** Road distance and driving time between two points. */
export interface Route {
  distanceMeters: number;
  durationSeconds: number;
}

/** Who answered the route: a map provider, the route cache or the straight-line estimate. */
export type RouteProvider = 'google-maps' | 'here' | 'cache' | 'estimate';

export interface PlannedRoute extends Route {
  provider: RouteProvider;
}
