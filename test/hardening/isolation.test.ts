/**
 * Isolation from the route table (issue 12): every JSON route that needs a key is called, on org
 * A's resources, by a matrix of callers: another org's key, A's other mode's key, a key of A
 * scoped to another party, a key of A without the route's permission, no key, and a revoked key.
 * Each answer is 401/403/404 as docs/api.md says where the route names one of A's resources
 * (a dialect's own equivalent on a dialect route), never a 5xx, and never carries A's data: no
 * id, code, reference or name of A's (of A's first party, for A's own restricted keys) appears
 * in any answer, and A's data is unchanged. Then the event log, the live stream and webhooks:
 * org B's receiver and stream never see A's events, nor A's B's.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, bootstrap, createApiKey, createOrg, generateSecret } from '../../src/app/api-keys.js';
import { shortCodeOf } from '../../src/dialects/centrapay/mapping.js';
import { routeTable } from '../../src/http/route-table.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { recordFigure } from './figures.js';
import type { Pools } from './inputs.js';
import { type Caller, checkIsolation, type IsolationDoc } from './isolating.js';
import { type PlannedRoute, planRoutes, PUBLIC } from './routes.js';


let t: TestServer;
let routes: PlannedRoute[];
let doc: IsolationDoc;
const a: Record<string, string> = {};
let markersOfOrg: string[] = [];
let markersOfParty: string[] = [];
let callers: Caller[] = [];
let receiverA: Receiver;
let receiverB: Receiver;
let keyB = '';
let narrowReader = '';
/**
 * Routes a `webhooks:manage` key may use (endpoints, deliveries, redelivery, and the event log it
 * backfills from: docs/api.md): their caller without the permission holds another one.
 */
const WEBHOOK_ROUTE = /webhook|callback|\/v1\/events(\/|$)/;
const figures = { pairs: 0, leaks: 0, tenantChecks: 0 };

beforeAll(async () => {
  t = await startTestServer({ rateLimit: { max: 0, windowSeconds: 60 } });
  routes = planRoutes(routeTable(t.server.app)).filter((r) => r.auth !== PUBLIC);
  doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as typeof doc;
  receiverA = await startReceiver();
  receiverB = await startReceiver();
  const api = t.admin;
  // Org A's data: a merchant party and a payer party with accounts, requests in several states,
  // an endpoint, a merchant config, a patron code, a request made through Request Network's dialect.
  const shop = (await api.post('/v1/parties', { type: 'legal_entity', name: 'Isolation Shop A' })).body;
  const payer = (await api.post('/v1/parties', { type: 'user', username: 'isolation-payer-a' })).body;
  const other = (await api.post('/v1/parties', { type: 'user', username: 'isolation-other-a' })).body;
  const shopUsd = (await api.post('/v1/accounts', { partyId: shop.id, currency: 'USD' })).body;
  const payerUsd = (await api.post('/v1/accounts', { partyId: payer.id, currency: 'USD' })).body;
  await api.post(`/v1/test-helpers/accounts/${payerUsd.id as string}/fund`, { amount: '5000' });
  const pending = (await api.post('/v1/payment-requests', { amount: '123.45', currency: 'USD', payee: { accountId: shopUsd.id }, payer: { accountId: payerUsd.id }, expiresIn: 86_400, externalId: 'iso-ext-a', metadata: { marker: 'iso-meta-a' } })).body;
  const paid = (await api.post('/v1/payment-requests', { amount: '67.89', currency: 'USD', payee: { accountId: shopUsd.id }, payer: { accountId: payerUsd.id }, expiresIn: 86_400 })).body;
  await api.post(`/v1/payment-requests/${paid.id as string}/approve`, { accountId: payerUsd.id });
  const endpoint = (await api.post('/v1/webhook-endpoints', { url: receiverA.url })).body;
  const config = (await api.post('/v1/merchant-configs', { name: 'Isolation till A', payeeAccountId: shopUsd.id })).body;
  const patron = (await api.post(`/v1/parties/${payer.id as string}/patron-codes`)).body;
  const rn = (await api.request('POST', '/compat/request-network/v2/request', { payee: '0x1111111111111111111111111111111111111111', amount: '5', invoiceCurrency: 'USD', paymentCurrency: 'USD' }, { 'x-api-key': t.adminKey })).body;
  const events = (await api.get('/v1/events?limit=50')).body.data as { id: string }[];
  const spare = (await api.post('/v1/api-keys', { name: 'isolation-spare-a', grants: [{ permission: 'payment_requests:read' }] })).body;
  Object.assign(a, {
    shop: shop.id, payer: payer.id, other: other.id, shopUsd: shopUsd.id, payerUsd: payerUsd.id, pending: pending.id, paid: paid.id,
    code: pending.code, reference: pending.paymentReference, endpoint: endpoint.id, config: config.id, patron: patron.id,
    rnReference: rn.paymentReference, rnRequestId: rn.requestId, event: events[0]?.id ?? '', spareKey: spare.id,
  });
  markersOfOrg = [...Object.values(a), paid.code, paid.paymentReference, ...events.map((e) => e.id), 'Isolation Shop A', 'isolation-payer-a', 'iso-ext-a', 'iso-meta-a', 'Isolation till A', '123.45', '67.89'].filter((m) => typeof m === 'string' && m.length >= 5);
  markersOfParty = [pending.id, paid.id, pending.code, paid.code, pending.paymentReference, 'iso-ext-a', 'iso-meta-a', '123.45', '67.89'];

  // The callers.
  const b = await createOrg(t.server.deps, 'Isolation org B');
  keyB = b.testSecret;
  await t.client(keyB).post('/v1/webhook-endpoints', { url: receiverB.url });
  const principalB = await authenticate(t.server.deps, keyB);
  const signingB = await createApiKey(t.server.deps, principalB, { grants: [{ permission: 'admin' }], signingSecret: true });
  const liveA = generateSecret('live');
  await bootstrap(t.server.deps, liveA);
  const adminA = await authenticate(t.server.deps, t.adminKey);
  const scoped = await createApiKey(t.server.deps, adminA, { grants: ['payment_requests:create', 'payment_requests:read', 'payment_requests:pay', 'payment_requests:cancel', 'payments:record', 'refunds:create', 'accounts:manage'].map((permission) => ({ permission: permission as never, partyId: other.id as string })) });
  // A key without the route's permission: webhook routes get a reader's key, the others a webhook manager's.
  const narrowWebhooks = await createApiKey(t.server.deps, adminA, { grants: [{ permission: 'webhooks:manage' }] });
  narrowReader = (await createApiKey(t.server.deps, adminA, { grants: [{ permission: 'payment_requests:read', partyId: other.id as string }] })).secret;
  const revoked = await createApiKey(t.server.deps, adminA, { grants: [{ permission: 'admin' }] });
  await t.admin.request('DELETE', `/v1/api-keys/${revoked.key.id}`);
  callers = [
    { kind: 'other org', key: signingB.secret, signingSecret: signingB.signingSecret },
    { kind: 'other mode', key: liveA },
    { kind: 'scoped elsewhere', key: scoped.secret },
    { kind: 'without permission', key: narrowWebhooks.secret },
    { kind: 'no key', key: undefined },
    { kind: 'revoked key', key: revoked.secret },
  ];
}, 120_000);
afterAll(async () => {
  recordFigure('isolation', `${figures.pairs} route × caller pairs (${figures.tenantChecks} refused 403/404 on a resource of another tenant or scope) / ${figures.leaks} leaks`);
  await receiverA.close();
  await receiverB.close();
  await t.close();
});

/** The value of one of A's resources for a path parameter. */
function targetOf(route: PlannedRoute, name: string): string {
  if (name === 'code') return a['code'] as string;
  if (name === 'shortCode') return shortCodeOf(a['code'] as string);
  if (name === 'paymentReference') return a['rnReference'] as string;
  if (name === 'requestId') return a['rnRequestId'] as string;
  if (name === 'externalRef') return 'iso-ext-a';
  const before = route.url.slice(0, route.url.indexOf(`:${name}`));
  const table: [RegExp, string][] = [
    [/payment-requests\/$/, 'pending'], [/parties\/$/, 'payer'], [/accounts\/$/, 'payerUsd'], [/webhook-endpoints\/$/, 'endpoint'],
    [/events\/$/, 'event'], [/api-keys\/$/, 'spareKey'], [/merchant-configs\/$/, 'config'], [/request-network\/v1\/webhook\/$/, 'endpoint'],
  ];
  const hit = table.find(([pattern]) => pattern.test(before));
  if (!hit) throw new Error(`the isolation suite does not know whose resource ${route.method} ${route.url} names in :${name}`);
  return a[hit[1]] as string;
}

/** A's test-mode data as rows: what no caller of the matrix may change (A's live key may make live-mode data). */
async function fingerprintOfA(): Promise<string> {
  const store = t.server.deps.store;
  const orgId = (await authenticate(t.server.deps, t.adminKey)).orgId;
  const tables = ['payment_requests', 'payments', 'refunds', 'accounts', 'parties', 'webhook_endpoints', 'merchant_configs', 'patron_codes', 'events', 'ledger_entries'];
  const parts = tables.map((name) => sql`(select count(*) from ${sql.table(name)} where org_id = ${orgId} and mode = 'test')`);
  const times = ['payment_requests', 'accounts', 'webhook_endpoints'].map((name) => sql`(select coalesce(max(updated_at), 0) from ${sql.table(name)} where org_id = ${orgId} and mode = 'test')`);
  const row = (await sql<Record<string, unknown>>`select ${sql.join([...parts, ...times], sql`, `)}`.execute(store.db)).rows[0];
  return JSON.stringify(Object.values(row ?? {}).map(String));
}

describe('isolation over every route', () => {
  it('answers every caller of the matrix as documented and leaks nothing of org A', { timeout: 600_000 }, async () => {
    const before = await fingerprintOfA();
    const pools: Pools = { ids: [a['pending'], a['payer'], a['payerUsd'], a['shopUsd'], a['config']] as string[], strings: ['USD', '10.00', 'iso-ext-a', a['code'] as string] };
    const failures = await checkIsolation({
      baseUrl: t.url, doc, pools, callers, markersOfOrg, markersOfParty, figures,
      targetOf,
      callerFor: (listed, route) => (listed.kind === 'without permission' && WEBHOOK_ROUTE.test(route.url) ? { ...listed, key: narrowReader } : listed),
    }, routes);
    expect(failures).toEqual([]);
    expect(figures.pairs).toBeGreaterThanOrEqual(routes.length * callers.length);
    expect(figures.tenantChecks).toBeGreaterThan(100);
    expect(await fingerprintOfA()).toBe(before);
  });

  it("keeps each org's events to itself: event log, live stream and webhooks", { timeout: 60_000 }, async () => {
    const b = t.client(keyB);
    const controller = new AbortController();
    const streamB = await fetch(`${t.url}/v1/events/stream`, { headers: { authorization: `Bearer ${keyB}` }, signal: controller.signal });
    let seenByStreamB = '';
    const reading = (async () => {
      const reader = (streamB.body as ReadableStream<Uint8Array>).getReader();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          seenByStreamB += Buffer.from(value).toString('utf8');
        }
      } catch {
        // aborted
      }
    })();
    // Both orgs act.
    const made = (await t.admin.post('/v1/payment-requests', { amount: '11.11', currency: 'USD', payee: { accountId: a['shopUsd'] }, expiresIn: 600, externalId: 'iso-live-a' })).body;
    const shopB = (await b.post('/v1/parties', { type: 'legal_entity', name: 'Shop B' })).body;
    const accountB = (await b.post('/v1/accounts', { partyId: shopB.id, currency: 'USD' })).body;
    const madeB = (await b.post('/v1/payment-requests', { amount: '22.22', currency: 'USD', payee: { accountId: accountB.id }, expiresIn: 600 })).body;
    await receiverB.waitFor((r) => r.some((x) => x.json?.data?.id === madeB.id), 15_000);
    await receiverA.waitFor((r) => r.some((x) => x.json?.data?.id === made.id), 15_000);
    await new Promise((r) => setTimeout(r, 500));
    controller.abort();
    await reading;
    const eventsA = (await t.admin.get('/v1/events?limit=100')).body.data as { id: string }[];
    const eventsB = (await b.get('/v1/events?limit=100')).body.data as { id: string }[];
    const idsA = new Set(eventsA.map((e) => e.id));
    const idsB = new Set(eventsB.map((e) => e.id));
    expect([...idsB].filter((id) => idsA.has(id))).toEqual([]);
    expect(JSON.stringify(eventsB)).not.toContain(made.id);
    expect(seenByStreamB).toContain(madeB.id);
    expect(seenByStreamB).not.toContain(made.id);
    for (const marker of markersOfOrg) expect(seenByStreamB).not.toContain(marker);
    expect(receiverB.received.every((r) => !idsA.has(r.id) && !r.body.includes(made.id as string))).toBe(true);
    expect(receiverA.received.every((r) => !idsB.has(r.id) && !r.body.includes(madeB.id as string))).toBe(true);
  });
});
