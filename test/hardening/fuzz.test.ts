/**
 * Fuzzing from the route table (issue 12): every JSON route the app registered, Payreq's and
 * the dialects', gets `FUZZ_CASES_PER_ROUTE` (500) generated requests over real HTTP: bodies
 * that satisfy the route's schema, the same with one field made hostile (wrong types, huge,
 * negative and fractional numbers, long and non-ASCII strings), raw bodies (deep nesting,
 * duplicate and `__proto__` keys, broken JSON, an empty body, a body over the limit), and query
 * strings alike. Every answer must be a 2xx or a documented 4xx in the route's own error format,
 * never a 5xx and never a hang; and a refused write must store nothing (the row count of every
 * table and the latest update times unchanged). The seed is printed (`FUZZ_SEED` replays it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeTable } from '../../src/http/route-table.js';
import { startTestServer, FAST_WEBHOOKS, type TestServer } from '../support/server.js';
import { recordFigure } from './figures.js';
import { type FuzzDoc, fuzzRoutes, fingerprint } from './fuzzing.js';
import type { Pools } from './inputs.js';
import { credentialHeaders, type PlannedRoute, planRoutes } from './routes.js';

const CASES = Number(process.env['FUZZ_CASES_PER_ROUTE'] ?? 500);
const SEED = Number(process.env['FUZZ_SEED'] ?? Date.now() % 2 ** 31);

let t: TestServer;
let routes: PlannedRoute[];
let doc: FuzzDoc;
const pools: Pools = { ids: [], strings: ['USD', 'NZD', 'EUR', '10.00', '1', '0.01', 'test', 'pending', 'paid'] };
const params: Record<string, string[]> = { id: [], code: [], 'payment-reference': [], 'request-id': [], 'short-code': [], 'external-ref': [] };
let signing: { key: string; secret: string };
const totals = { cases: 0, fiveHundreds: 0, storedOnReject: 0, undocumented: 0 };

beforeAll(async () => {
  t = await startTestServer({
    webhooks: { ...FAST_WEBHOOKS, concurrency: 0 }, // no deliveries behind the suite's back
    expirySweepIntervalMs: 2 ** 31 - 1, // no expiries behind its back either
    payPageRateLimitPerMinute: 10_000_000,
    rateLimit: { max: 0, windowSeconds: 60 }, // tens of thousands of calls with one key: test/hardening/rate-limit.test.ts covers the limit
    logLevel: process.env['FUZZ_LOG_LEVEL'] ?? 'silent',
  });
  routes = planRoutes(routeTable(t.server.app));
  doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as typeof doc;
  // Fixtures whose ids, codes and references the generators draw from.
  const a = t.admin;
  const shop = (await a.post('/v1/parties', { type: 'legal_entity', name: 'Fuzz shop' })).body;
  const user = (await a.post('/v1/parties', { type: 'user', username: 'fuzz-user' })).body;
  const shopUsd = (await a.post('/v1/accounts', { partyId: shop.id, currency: 'USD' })).body;
  const userUsd = (await a.post('/v1/accounts', { partyId: user.id, currency: 'USD' })).body;
  const shopNzd = (await a.post('/v1/accounts', { partyId: shop.id, currency: 'NZD' })).body;
  await a.post(`/v1/test-helpers/accounts/${userUsd.id as string}/fund`, { amount: '1000000' });
  const prs = [];
  for (let i = 0; i < 3; i++) prs.push((await a.post('/v1/payment-requests', { amount: '10.00', currency: 'USD', payee: { accountId: shopUsd.id }, payer: { accountId: userUsd.id }, expiresIn: 86_400, externalId: `fuzz-${i}` })).body);
  await a.post(`/v1/payment-requests/${prs[0].id as string}/approve`, { accountId: userUsd.id });
  const endpoint = (await a.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/fuzz' })).body;
  const config = (await a.post('/v1/merchant-configs', { name: 'Fuzz till', payeeAccountId: shopNzd.id })).body;
  const patron = (await a.post(`/v1/parties/${user.id as string}/patron-codes`)).body;
  const signingKey = (await a.post('/v1/api-keys', { grants: [{ permission: 'admin' }], signingSecret: true })).body;
  signing = { key: signingKey.secret, secret: signingKey.signingSecret };
  // A key the generators may revoke (the ones the suite calls with are not in the pools).
  const spareKey = (await a.post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read' }] })).body;
  const rn = (await a.request('POST', '/compat/request-network/v2/request', { payee: '0x1111111111111111111111111111111111111111', amount: '5', invoiceCurrency: 'USD', paymentCurrency: 'USD' }, { 'x-api-key': t.adminKey })).body;
  const events = (await a.get('/v1/events?limit=5')).body.data as { id: string }[];
  params['id'] = [shop.id, user.id, shopUsd.id, userUsd.id, endpoint.id, config.id, patron.id, spareKey.id, ...prs.map((p) => p.id), ...events.map((e) => e.id), 'not-an-id', '0', '01890000-0000-7000-8000-000000000000'];
  params['code'] = [...prs.map((p) => p.code), 'ZZZZZZ', '%2e%2e'];
  params['short-code'] = params['code'];
  params['payment-reference'] = [...prs.map((p) => p.paymentReference), rn?.paymentReference, 'ffffffffffffffff'].filter((x): x is string => typeof x === 'string');
  params['request-id'] = [rn?.requestId, '01' + 'a'.repeat(62)].filter((x): x is string => typeof x === 'string');
  params['external-ref'] = ['fuzz-0', 'nope'];
  pools.ids = params['id'].slice(0, -3);
  pools.strings.push(...prs.map((p) => p.code), config.id, patron.id, 'centrapay.nzd.test', '0x1111111111111111111111111111111111111111');
}, 120_000);
afterAll(async () => {
  recordFigure('fuzz', `${totals.cases} cases over ${routes?.length ?? 0} routes (seed ${SEED}) / ${totals.fiveHundreds} 5xx / ${totals.storedOnReject} stored on reject / ${totals.undocumented} undocumented refusals`);
  await t.close();
});

/** The suite's admin key on each route (on a signed family's, such as AlphaPo's, the admin key with a signing secret, signing the body). */
function headersFor(route: PlannedRoute, body: string | undefined, contentType: string): Record<string, string> {
  return credentialHeaders(route.auth, route.auth.signed ? signing.key : t.adminKey, signing.secret, body, contentType);
}

describe('fuzzing every JSON route from the route table', () => {
  it('reaches every route of the table', () => {
    expect(routes.length).toBeGreaterThan(70);
  });

  it(`answers ${CASES} generated requests per route with a 2xx or a documented 4xx, storing nothing on a refusal`, { timeout: 1_800_000 }, async () => {
    await fuzzRoutes({ baseUrl: t.url, doc, params, pools, headersFor, fingerprint: () => fingerprint(t.server.deps.store), cases: CASES, seed: SEED, totals }, routes);
    expect(totals.cases).toBeGreaterThanOrEqual(routes.length * CASES);
    expect(totals.fiveHundreds).toBe(0);
    expect(totals.storedOnReject).toBe(0);
  });
});
