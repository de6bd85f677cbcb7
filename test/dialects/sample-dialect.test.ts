/**
 * A sixth dialect is its module and one entry in the list (docs/adding-a-dialect.md): the
 * test-only Sample dialect (test/support/sample-dialect.ts), registered as
 * `[...DIALECTS, sampleDialect]` and touching no other file, is served under its prefix with its
 * own auth, errors and setting, appears in the OpenAPI document, is a `/v1` webhook format whose
 * deliveries a real receiver verifies, answers refusals before routing in its own format, and is
 * fuzzed and isolation-tested by the hardening machinery (test/hardening/fuzzing.ts,
 * test/hardening/isolating.ts) over its routes, read from the route table.
 */
import { createHmac } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, bootstrap, createApiKey, createOrg, generateSecret } from '../../src/app/api-keys.js';
import { DIALECTS } from '../../src/dialects/index.js';
import { configureDialects } from '../../src/http/dialect.js';
import { routeTable } from '../../src/http/route-table.js';
import { Client } from '../support/client.js';
import { createUserWithAccount } from '../support/factories.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { sampleDialect } from '../support/sample-dialect.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type FuzzDoc, fingerprint, fuzzRoutes } from '../hardening/fuzzing.js';
import { type Caller, checkIsolation, type IsolationDoc } from '../hardening/isolating.js';
import { credentialHeaders, type PlannedRoute, planRoutes } from '../hardening/routes.js';

const WITH_SAMPLE = [...DIALECTS, sampleDialect];
let t: TestServer;
let receiver: Receiver;
let sample: Client;
let payee: { partyId: string; accountId: string };

beforeAll(async () => {
  t = await startTestServer({ dialects: configureDialects(WITH_SAMPLE, { PAYREQ_SAMPLE_MAX_AMOUNT: '500' }), rateLimit: { max: 0, windowSeconds: 60 } });
  receiver = await startReceiver();
  sample = new Client(`${t.url}/compat/sample`, undefined);
  payee = await createUserWithAccount(t.admin);
});
afterAll(async () => {
  await receiver.close();
  await t.close();
});

const keyHeader = () => ({ 'x-sample-key': t.adminKey });

/** Sends one raw request line (a path Fastify refuses before routing) and reads the answer's status and JSON body. */
function sendRaw(target: string): Promise<{ status: number; body: unknown }> {
  const url = new URL(t.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let data = '';
    socket.on('data', (c) => (data += c.toString('utf8')));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head = '', payload = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: JSON.parse(payload) as unknown });
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: payreq.test\r\nConnection: close\r\n\r\n`);
  });
}

describe('a dialect registered through the list', () => {
  it('is served under its prefix with its own auth, errors and setting', async () => {
    const created = await sample.request('POST', '/payment-requests', { amount: '12.50', currency: 'USD', payee_account: payee.accountId }, keyHeader());
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ amount: '12.50', currency: 'USD', state: 'pending' });
    const read = await sample.request('GET', `/payment-requests/${created.body.id as string}`, undefined, keyHeader());
    expect(read.body).toEqual(created.body);
    // The same request through /v1: one set of use cases under every dialect.
    expect((await t.admin.get(`/v1/payment-requests/${created.body.id as string}`)).body).toMatchObject({ id: created.body.id, amount: '12.50' });
    expect(await sample.request('POST', '/payment-requests', { amount: '501', currency: 'USD', payee_account: payee.accountId }, keyHeader())).toMatchObject({ status: 400, body: { sample_error: { status: 400, message: 'amount is over 500' } } });
    expect(await sample.request('GET', `/payment-requests/${created.body.id as string}`)).toMatchObject({ status: 401, body: { sample_error: { status: 401 } } });
    expect(await sample.request('GET', '/payment-requests/01890000-0000-7000-8000-000000000000', undefined, keyHeader())).toMatchObject({ status: 404, body: { sample_error: { status: 404 } } });
    // A refusal before routing (a broken percent-escape) is in its format too.
    expect(await sendRaw('/compat/sample/payment-requests/%zz')).toMatchObject({ status: 400, body: { sample_error: { status: 400 } } });
  });

  it('reads its own settings, naming the variable when one is invalid', () => {
    expect(() => configureDialects(WITH_SAMPLE, { PAYREQ_SAMPLE_MAX_AMOUNT: 'lots' })).toThrow(/PAYREQ_SAMPLE_MAX_AMOUNT/);
    expect(() => configureDialects([...WITH_SAMPLE, sampleDialect], {})).toThrow(/two dialects/);
  });

  it('is in the OpenAPI document: its paths, its security scheme, its webhook format', async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as { paths: Record<string, unknown>; components: { securitySchemes: Record<string, unknown>; schemas?: unknown } };
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/compat/sample/payment-requests', '/compat/sample/payment-requests/{id}']));
    expect(Object.keys(doc.components.securitySchemes)).toEqual(['bearer', 'apiKey', 'processingKey', 'sampleKey']);
    expect(JSON.stringify(doc.paths['/v1/webhook-endpoints'])).toContain('"enum":["standard","request-network","deltapay","centrapay","alphapo","sample"]');
  });

  it('signs its webhooks, and a real receiver verifies them', async () => {
    const endpoint = await t.admin.post('/v1/webhook-endpoints', { url: receiver.url, format: 'sample' });
    expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
    expect(endpoint.body).toMatchObject({ format: 'sample' });
    const secret = endpoint.body.secret as string;
    expect(secret).toMatch(/^smp_[0-9a-f]{48}$/);
    const created = (await sample.request('POST', '/payment-requests', { amount: '3', currency: 'USD', payee_account: payee.accountId }, keyHeader())).body;
    await receiver.waitFor((r) => r.some((x) => x.json?.payment_request?.id === created.id), 15_000);
    const delivery = receiver.received.find((x) => x.json?.payment_request?.id === created.id);
    expect(delivery?.json).toMatchObject({ type: 'payment_request.created', payment_request: { id: created.id, state: 'pending' } });
    const header = String(delivery?.headers['x-sample-signature']);
    const [, at, signature] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header) ?? [];
    expect(signature, header).toBe(createHmac('sha256', secret).update(`${at}.${delivery?.body ?? ''}`).digest('hex'));
    expect(signature).not.toBe(createHmac('sha256', 'smp_wrong').update(`${at}.${delivery?.body ?? ''}`).digest('hex'));
    // No deliveries behind the fuzzer's back below (it compares row counts around each refusal).
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${endpoint.body.id as string}`);
  });
});

describe('the hardening machinery over the sample dialect', () => {
  let routes: PlannedRoute[];
  beforeAll(() => {
    routes = planRoutes(routeTable(t.server.app), WITH_SAMPLE).filter((r) => r.url.startsWith('/compat/sample/'));
  });

  it('plans its routes from the list, with its auth and error format', () => {
    expect(routes.map((r) => `${r.method} ${r.url}`).sort()).toEqual(['GET /compat/sample/payment-requests/:id', 'POST /compat/sample/payment-requests']);
    expect(routes.every((r) => r.auth.family === 'x-sample-key' && r.errors.family === 'sample')).toBe(true);
  });

  it('fuzzes its routes: a 2xx or a documented refusal, never a 5xx, nothing stored on a refusal', { timeout: 600_000 }, async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as FuzzDoc;
    const pending = (await sample.request('POST', '/payment-requests', { amount: '7', currency: 'USD', payee_account: payee.accountId }, keyHeader())).body;
    const totals = { cases: 0, fiveHundreds: 0, storedOnReject: 0, undocumented: 0 };
    const cases = Number(process.env['FUZZ_CASES_PER_ROUTE'] ?? 200);
    await fuzzRoutes({
      baseUrl: t.url,
      doc,
      params: { id: [pending.id as string, 'not-an-id', '01890000-0000-7000-8000-000000000000'] },
      pools: { ids: [payee.accountId, pending.id as string], strings: ['USD', '10.00', '1', 'NZD'] },
      headersFor: (route, body, contentType) => credentialHeaders(route.auth, t.adminKey, undefined, body, contentType),
      fingerprint: () => fingerprint(t.server.deps.store),
      cases,
      seed: Number(process.env['FUZZ_SEED'] ?? 7),
      totals,
    }, routes);
    expect(totals.cases).toBe(routes.length * cases);
    expect(totals).toMatchObject({ fiveHundreds: 0, storedOnReject: 0, undocumented: 0 });
  });

  it("answers every caller of the isolation matrix as documented and leaks nothing of the org's", { timeout: 120_000 }, async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as IsolationDoc;
    const pending = (await sample.request('POST', '/payment-requests', { amount: '123.45', currency: 'USD', payee_account: payee.accountId }, keyHeader())).body;
    const other = await createUserWithAccount(t.admin);
    const b = await createOrg(t.server.deps, 'Sample isolation org B');
    const adminA = await authenticate(t.server.deps, t.adminKey);
    const liveA = generateSecret('live');
    await bootstrap(t.server.deps, liveA);
    const scoped = await createApiKey(t.server.deps, adminA, { grants: [{ permission: 'payment_requests:read', partyId: other.partyId }, { permission: 'payment_requests:create', partyId: other.partyId }] });
    const narrow = await createApiKey(t.server.deps, adminA, { grants: [{ permission: 'webhooks:manage' }] });
    const revoked = await createApiKey(t.server.deps, adminA, { grants: [{ permission: 'admin' }] });
    await t.admin.request('DELETE', `/v1/api-keys/${revoked.key.id}`);
    const callers: Caller[] = [
      { kind: 'other org', key: b.testSecret },
      { kind: 'other mode', key: liveA },
      { kind: 'scoped elsewhere', key: scoped.secret },
      { kind: 'without permission', key: narrow.secret },
      { kind: 'no key', key: undefined },
      { kind: 'revoked key', key: revoked.secret },
    ];
    const figures = { pairs: 0, leaks: 0, tenantChecks: 0 };
    const failures = await checkIsolation({
      baseUrl: t.url,
      doc,
      pools: { ids: [payee.accountId], strings: ['USD', '10.00'] },
      callers,
      callerFor: (caller) => caller,
      targetOf: () => pending.id as string,
      markersOfOrg: [pending.id as string, '123.45', payee.accountId],
      markersOfParty: [pending.id as string, '123.45'],
      figures,
    }, routes);
    expect(failures).toEqual([]);
    expect(figures.pairs).toBe(routes.length * callers.length);
    expect(figures.leaks).toBe(0);
    // The get of the org's request, refused 403/404 to every keyed caller of the matrix.
    expect(figures.tenantChecks).toBe(4);
  });
});
