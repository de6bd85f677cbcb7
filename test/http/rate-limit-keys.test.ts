/**
 * What the rate limits count (docs/api.md, "Rate limits"): a key's bucket is its id, so no
 * spelling of the credential opens a fresh one; failed authentications are counted per client
 * address and refused 429 before authentication once past `PAYREQ_AUTH_FAILURE_LIMIT`; the client
 * address is the socket's peer unless `PAYREQ_TRUST_PROXY` names the proxy, whose
 * `X-Forwarded-For` then tells clients apart; with Redis the failure count is shared by processes.
 */
import { randomInt } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { authenticate, createApiKey } from '../../src/app/api-keys.js';
import { Client, type ApiResponse } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type ErrorFamily, isDocumentedError } from '../hardening/routes.js';

const REDIS_URL = process.env['PAYREQ_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  const t = await startTestServer(...args);
  servers.push(t);
  return t;
}

/** A new admin key, made without an HTTP call (so that no request counts against anything). */
async function key(t: TestServer): Promise<string> {
  const principal = await authenticate(t.server.deps, t.adminKey);
  return (await createApiKey(t.server.deps, principal, { grants: [{ permission: 'admin' }] })).secret;
}

const bare = (t: TestServer) => new Client(t.url, undefined);
const statuses = (responses: ApiResponse[]) => responses.map((r) => r.status);

/** A documentation address (RFC 3849) in a /64 of its own on every call (IPv6 clients count per /64), so that runs sharing Redis do not share counts. */
const address = () => `2001:db8:${randomInt(1, 0xffff).toString(16)}:${randomInt(1, 0xffff).toString(16)}::1`;

function expectRefused(family: ErrorFamily, res: ApiResponse): void {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(isDocumentedError(family, 429, res.headers.get('content-type') ?? '', res.body), `${family}: ${JSON.stringify(res.body)}`).toBe(true);
}

describe("a key's bucket", () => {
  it('is not reset by spelling the bearer credential differently (case, extra spaces, a tab)', async () => {
    const t = await start({ rateLimit: { max: 10, windowSeconds: 60 } });
    const k = await key(t);
    const spellings = [`Bearer ${k}`, `bearer ${k}`, `BEARER ${k}`, `Bearer   ${k}`, `Bearer\t${k}`, `bearer \t ${k}`];
    const responses: ApiResponse[] = [];
    for (let i = 0; i < 15; i++) responses.push(await bare(t).get('/v1/payment-requests', { authorization: spellings[i % spellings.length] as string }));
    expect(statuses(responses).filter((s) => s === 200)).toHaveLength(10);
    expect(statuses(responses).slice(10)).toEqual([429, 429, 429, 429, 429]);
    expectRefused('problem', responses[14] as ApiResponse);
  });

  it('is not reset by a junk Authorization header beside X-Api-Key on a dialect', async () => {
    const t = await start({ rateLimit: { max: 10, windowSeconds: 60 } });
    const cases = [
      { family: 'request-network' as const, path: '/compat/request-network/v1/webhook' },
      { family: 'centrapay' as const, path: '/compat/centrapay/api/me/patron-code-payment-request' },
    ];
    for (const c of cases) {
      const k = await key(t);
      const responses: ApiResponse[] = [];
      for (let i = 0; i < 14; i++) responses.push(await bare(t).get(c.path, { 'x-api-key': k, authorization: `junk-${i}` }));
      expect(statuses(responses).filter((s) => s === 429), `${c.family}: ${statuses(responses).join(' ')}`).toHaveLength(4);
      expectRefused(c.family, responses[13] as ApiResponse);
    }
  });
});

describe("a key's bucket, for bodies that do not parse", () => {
  it('counts a call whose body is refused before validation (not JSON, unknown media type, on /v1 and a dialect)', async () => {
    const t = await start({ rateLimit: { max: 6, windowSeconds: 60 } });
    const k = await key(t);
    const v1 = new Client(t.url, k);
    const pismo = new Client(`${t.url}/compat/pismo`, k);
    const responses: ApiResponse[] = [];
    for (let i = 0; i < 3; i++) responses.push(await v1.request('POST', '/v1/payment-requests', '{', { 'content-type': 'application/json' }));
    responses.push(await v1.request('POST', '/v1/payment-requests', '<x/>', { 'content-type': 'application/xml' }));
    for (let i = 0; i < 2; i++) responses.push(await pismo.request('POST', '/payments/v1/payment-requests', '{', { 'content-type': 'application/json' }));
    expect(statuses(responses)).toEqual([400, 400, 400, 415, 400, 400]);
    // The key's six calls are spent: more broken bodies, and then good calls, are refused.
    expectRefused('problem', await v1.request('POST', '/v1/payment-requests', '{', { 'content-type': 'application/json' }));
    expectRefused('pismo', await pismo.request('POST', '/payments/v1/payment-requests', '{', { 'content-type': 'application/json' }));
    expectRefused('problem', await v1.get('/v1/payment-requests'));
  });

  it('counts a call once, whichever hook sees it first', async () => {
    const t = await start({ rateLimit: { max: 4, windowSeconds: 60 } });
    const v1 = new Client(t.url, await key(t));
    const responses: ApiResponse[] = [];
    for (let i = 0; i < 5; i++) responses.push(await v1.get('/v1/payment-requests'));
    expect(statuses(responses)).toEqual([200, 200, 200, 200, 429]);
    expect(responses.slice(0, 4).map((r) => r.headers.get('x-ratelimit-remaining'))).toEqual(['3', '2', '1', '0']);
  });
});

describe('calls without a key', () => {
  it('share one bucket per /64 for an IPv6 client', async () => {
    const t = await start({ rateLimit: { max: 3, windowSeconds: 60 }, trustProxy: ['127.0.0.1'] });
    const call = (from: string) => bare(t).get('/compat/centrapay/.well-known/jwks.json', { 'x-forwarded-for': from });
    expect(statuses([await call('2001:db8:5:6::1'), await call('2001:db8:5:6::2'), await call('2001:db8:5:6::3')])).toEqual([410, 410, 410]);
    expectRefused('centrapay', await call('2001:db8:5:6::4'));
    expect((await call('2001:db8:5:7::1')).status).toBe(410);
  });
});

describe('failed authentications', () => {
  it('are counted per client address, which is then refused 429 in each family format, even with a good key', async () => {
    const t = await start({ rateLimit: { max: 1000, windowSeconds: 60, authFailures: 5 } });
    const good = await key(t);
    const failures: ApiResponse[] = [];
    failures.push(await bare(t).get('/v1/payment-requests', { authorization: 'Bearer prq_test_nope' }));
    failures.push(await bare(t).get('/v1/payment-requests'));
    failures.push(await bare(t).get('/compat/request-network/v1/webhook', { 'x-api-key': 'prq_test_wrong' }));
    failures.push(await bare(t).get('/compat/deltapay/transaction-types', { 'x-api-key': 'prq_test_wrong' }));
    failures.push(await bare(t).request('POST', '/compat/alphapo/api/v2/requests', '{}', { 'x-processing-key': good, 'x-processing-signature': 'forged' }));
    expect(statuses(failures)).toEqual([401, 401, 401, 401, 403]);

    expectRefused('problem', await bare(t).get('/v1/payment-requests', { authorization: `Bearer ${good}` }));
    expectRefused('request-network', await bare(t).get('/compat/request-network/v1/webhook', { 'x-api-key': good }));
    expectRefused('pismo', await bare(t).get('/compat/pismo/payments/v1/payment-requests?to=x', { authorization: `Bearer ${good}` }));
    expectRefused('deltapay', await bare(t).get('/compat/deltapay/transaction-types', { 'x-api-key': good }));
    expectRefused('centrapay', await bare(t).get('/compat/centrapay/api/me/patron-code-payment-request', { 'x-api-key': good }));
    expectRefused('alphapo', await bare(t).request('POST', '/compat/alphapo/api/v2/requests', '{}', { 'x-processing-key': good, 'x-processing-signature': 'forged' }));
    // Health and the pay page are not behind it.
    expect((await bare(t).get('/healthz')).status).toBe(200);
  });

  it('are told apart by X-Forwarded-For only when PAYREQ_TRUST_PROXY names the proxy', async () => {
    const trusting = await start({ rateLimit: { max: 1000, windowSeconds: 60, authFailures: 3 }, trustProxy: ['127.0.0.1'] });
    const one = '198.51.100.1';
    const other = '198.51.100.2';
    const fail = (t: TestServer, from: string) => bare(t).get('/v1/payment-requests', { authorization: 'Bearer prq_test_nope', 'x-forwarded-for': from });
    for (let i = 0; i < 3; i++) expect((await fail(trusting, one)).status).toBe(401);
    expectRefused('problem', await fail(trusting, one));
    expect((await fail(trusting, other)).status).toBe(401);

    const direct = await start({ rateLimit: { max: 1000, windowSeconds: 60, authFailures: 3 } });
    for (let i = 0; i < 3; i++) expect((await fail(direct, `198.51.100.${10 + i}`)).status).toBe(401);
    // Without a trusted proxy the header is the client's own say-so: still the same address.
    expectRefused('problem', await fail(direct, '198.51.100.99'));
  });

  it('are counted per /64 for an IPv6 client, so rotating addresses inside its block opens no fresh count', async () => {
    const t = await start({ rateLimit: { max: 1000, windowSeconds: 60, authFailures: 3 }, trustProxy: ['127.0.0.1'] });
    const fail = (from: string) => bare(t).get('/v1/payment-requests', { authorization: 'Bearer prq_test_nope', 'x-forwarded-for': from });
    for (let i = 1; i <= 3; i++) expect((await fail(`2001:db8:1:2::${i}`)).status).toBe(401);
    // Another address of the same /64, however it is written.
    expectRefused('problem', await fail('2001:db8:1:2:ffff:ffff:ffff:ffff'));
    expectRefused('problem', await fail('2001:0DB8:0001:0002:0000:0000:0000:0009'));
    // The next /64 is another client.
    expect((await fail('2001:db8:1:3::1')).status).toBe(401);
    // An IPv4-mapped address is its IPv4 address.
    for (let i = 0; i < 3; i++) expect((await fail('198.51.100.7')).status).toBe(401);
    expectRefused('problem', await fail('::ffff:198.51.100.7'));
  });

  it('are counted across processes through Redis', async () => {
    const shared = { rateLimit: { max: 1000, windowSeconds: 60, authFailures: 4 }, trustProxy: true, redisUrl: REDIS_URL } as const;
    const a = await start(shared);
    const b = await start(shared);
    const from = address();
    const fail = (t: TestServer) => bare(t).get('/v1/payment-requests', { authorization: 'Bearer prq_test_nope', 'x-forwarded-for': from });
    expect(statuses([await fail(a), await fail(b), await fail(a), await fail(b)])).toEqual([401, 401, 401, 401]);
    expectRefused('problem', await fail(b));
    expectRefused('problem', await fail(a));
  });
});
