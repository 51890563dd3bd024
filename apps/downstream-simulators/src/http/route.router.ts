import type { RouteDefinition } from './http.types';

interface CompiledRoute {
  route: RouteDefinition;
  segments: string[];
}

/** Result of matching a method and path against the routes. */
export interface RouteMatch {
  route: RouteDefinition;
  params: Record<string, string>;
}

/** Minimal segment router: `:name` segments capture, everything else must match literally. */
export class RouteRouter {
  private readonly compiled: CompiledRoute[];

  constructor(routes: RouteDefinition[]) {
    this.compiled = routes.map((route) => ({ route, segments: split(route.path) }));
  }

  match(method: string, path: string): RouteMatch | undefined {
    const segments = split(path);
    for (const { route, segments: pattern } of this.compiled) {
      if (route.method !== method || pattern.length !== segments.length) continue;
      const params: Record<string, string> = {};
      const matches = pattern.every((part, i) => {
        if (part.startsWith(':')) {
          params[part.slice(1)] = safeDecode(segments[i]);
          return segments[i] !== '';
        }
        return part === segments[i];
      });
      if (matches) return { route, params };
    }
    return undefined;
  }
}

function split(path: string): string[] {
  return path.replace(/\/+$/, '').split('/').slice(1);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
