// The management API's routes as one table: the server dispatches from it (http-api.ts binds a
// handler to every id, which the compiler checks), and scripts/gen-api-docs.ts writes docs/api.md
// from it (test/unit/manage/api-docs.test.ts keeps the two in sync). The routes themselves are in
// routes-status.ts, routes-admin.ts and routes-console.ts; what a route is, in route-spec.ts.
import { ADMIN_ROUTES } from './routes-admin.js';
import { CONSOLE_ROUTES } from './routes-console.js';
import { STATUS_ROUTES } from './routes-status.js';

export type { RouteAuth, RouteMethod, RouteParam, RouteSpec } from './route-spec.js';

/** Every route of the management API, in the order of the reference. */
export const ROUTES = [...STATUS_ROUTES, ...ADMIN_ROUTES, ...CONSOLE_ROUTES] as const;

/** The id of a route of {@link ROUTES}. */
export type RouteId = (typeof ROUTES)[number]['id'];

/** A request's path without trailing slashes (`/` for the root). */
export function normalizePath(p: string): string {
  return p.replace(/\/+$/, '') || '/';
}

/** The `:name` values when `path` (normalized) fits `pattern`, else undefined. Values stay %-encoded. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = normalizePath(pattern).split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(':')) {
      if (g === '') return undefined;
      params[w.slice(1)] = g;
    } else if (w !== g) return undefined;
  }
  return params;
}

/** The routes whose path fits `path` (normalized), with their `:name` values. */
export function routesFor(
  path: string,
): { route: (typeof ROUTES)[number]; params: Record<string, string> }[] {
  const out: { route: (typeof ROUTES)[number]; params: Record<string, string> }[] = [];
  for (const route of ROUTES) {
    const params = matchPath(route.path, path);
    if (params !== undefined) out.push({ route, params });
  }
  return out;
}
