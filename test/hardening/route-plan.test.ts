/**
 * The hardening generators read the route table (issue 12): a route added where they cannot
 * reach it (an unknown prefix, so no known auth or error format; a path parameter they cannot
 * fill) makes the plan, and so the fuzz and isolation suites, fail rather than skip it.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordRoutes, routeTable } from '../../src/http/route-table.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { planRoutes } from './routes.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('the generators read the route table', () => {
  it("place every JSON route of Payreq's app", () => {
    const planned = planRoutes(routeTable(t.server.app));
    const urls = planned.map((r) => `${r.method} ${r.url}`);
    expect(urls).toContain('POST /v1/payment-requests');
    expect(urls).toContain('POST /compat/alphapo/api/v2/requests');
    expect(urls).toContain('POST /pay/:code/simulate');
    expect(urls).not.toContain('GET /v1/events/stream');
  });

  it('fail for a route added under an unknown prefix or with a parameter they cannot fill', async () => {
    const app = Fastify();
    recordRoutes(app);
    app.get('/v1/payment-requests/:id', () => ({}));
    app.post('/v2/widgets', () => ({}));
    app.get('/v1/widgets/:widgetId', () => ({}));
    await app.ready();
    expect(() => planRoutes(routeTable(app))).toThrow(/POST \/v2\/widgets \(no auth or error format known[\s\S]*GET \/v1\/widgets\/:widgetId \(cannot fill :widgetId\)/);
    await app.close();
  });

  it('the same app with only reachable routes plans', async () => {
    const app = Fastify();
    recordRoutes(app);
    app.get('/v1/payment-requests/:id', () => ({}));
    await app.ready();
    expect(planRoutes(routeTable(app)).map((r) => r.url)).toEqual(['/v1/payment-requests/:id']);
    await app.close();
  });
});
