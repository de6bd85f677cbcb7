/**
 * The application's route table: every route as registered, with its method and URL pattern,
 * recorded by an `onRoute` hook as the app is built. The hardening suites (issue 12) generate
 * their fuzz cases and isolation matrix from it, so a new route is covered, or flagged as not
 * coverable, without a list to keep up to date.
 */
import type { FastifyInstance } from 'fastify';

/** One registered route. `url` is Fastify's pattern (`/v1/payment-requests/:id`). */
export interface RouteEntry {
  method: string;
  url: string;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Starts recording `app`'s routes; call before any route is registered. */
export function recordRoutes(app: FastifyInstance): void {
  const routes: RouteEntry[] = [];
  tables.set(app, routes);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      // HEAD routes are Fastify's automatic twins of GET routes.
      if (method !== 'HEAD') routes.push({ method, url: route.url });
    }
  });
}

/**
 * The routes registered on `app` (after `ready()`), in registration order.
 * @throws Error when `app` was not built with {@link recordRoutes}.
 */
export function routeTable(app: FastifyInstance): readonly RouteEntry[] {
  const routes = tables.get(app);
  if (!routes) throw new Error('this app was built without recordRoutes');
  return routes;
}
