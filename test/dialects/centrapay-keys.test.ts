/**
 * Centrapay notifications name whose they are (docs/dialects/centrapay.md#notifications): each
 * `centrapay` endpoint has its own key set, and its JWTs carry `iss` (org and mode) and `sub`
 * (the endpoint). A receiver verifying as documented, with `jose` against the key set, issuer
 * and subject its endpoint shows, accepts its own org's notification and refuses another org's
 * sent to the same URL, and the other mode's. A disabled endpoint's key leaves its set; key sets
 * are derived once and kept, seen afresh by every server on the database after a change; and
 * with 300 endpoints concurrent fetches stay fast (the figure is printed).
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, createOrg, generateSecret } from '../../src/app/api-keys.js';
import type { StoredEvent } from '../../src/domain/entities.js';
import { findEventById } from '../../src/db/event.repository.js';
import { Client } from '../support/client.js';
import { type Receiver, type Received, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';

interface Verification { jwksUrl: string; issuer: string; subject: string }

let t: TestServer;
let receiver: Receiver;
let orgB: Client;
let liveA: Client;
const anonymous = () => new Client(t.url, undefined);
const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');

beforeAll(async () => {
  // Live-mode endpoints must resolve to a public address; nothing is delivered to them here.
  t = await startTestServer({}, { resolver: () => Promise.resolve([{ address: '93.184.216.34', family: 4 }]) });
  receiver = await startReceiver();
  orgB = t.client((await createOrg(t.server.deps, 'Centrapay org B')).testSecret);
  const live = generateSecret('live');
  await bootstrap(t.server.deps, live);
  liveA = t.client(live);
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

/** Creates a `centrapay` endpoint; answers it as created (with its secret, the private key). */
async function endpoint(api: Client, url: string): Promise<{ id: string; secret: string; centrapay: Verification }> {
  const res = await api.post('/v1/webhook-endpoints', { url, format: 'centrapay' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

/** A request of `api`'s org and mode paid in full by a recorded payment; answers its id. */
async function paidRequest(api: Client): Promise<string> {
  const shop = (await api.post('/v1/parties', { type: 'legal_entity', name: 'Keys shop' })).body.id as string;
  const account = (await api.post('/v1/accounts', { partyId: shop, currency: 'NZD' })).body.id as string;
  const pr = await api.post('/v1/payment-requests', { amount: '12.00', currency: 'NZD', payee: { accountId: account }, expiresIn: 3600 });
  expect(pr.status, JSON.stringify(pr.body)).toBe(201);
  const paid = await api.post(`/v1/payment-requests/${pr.body.id as string}/payments`, { amount: '12.00', reference: `keys-${pr.body.id as string}` });
  expect(paid.body.paymentRequest.status).toBe('paid');
  return pr.body.id as string;
}

/** Verifies a notification as docs/dialects/centrapay.md says a receiver does; throws when it does not verify. */
async function verifyAs(receiverOf: Verification, audience: string, call: Pick<Received, 'body' | 'headers'>) {
  const token = String(call.headers['authorization']);
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(receiverOf.jwksUrl)), {
    issuer: receiverOf.issuer,
    subject: receiverOf.subject,
    audience,
    algorithms: ['ES256'],
    requiredClaims: ['iat', 'exp', 'iss', 'sub', 'aud'],
  });
  if (payload['request_body_sha256'] !== sha256(call.body)) throw new Error('Payload hashes do not match');
  return payload;
}

/** `payreq_centrapay_key_sets_total{source}` from `GET /metrics`. */
async function keySets(source: 'cached' | 'derived', server: TestServer = t): Promise<number> {
  const text = (await new Client(server.url, undefined).get('/metrics')).body as string;
  const line = text.split('\n').find((l) => l.startsWith(`payreq_centrapay_key_sets_total{source="${source}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

const kids = async (v: Verification) => {
  const res = await anonymous().request('GET', new URL(v.jwksUrl).pathname);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return (res.body.keys as { kid: string }[]).map((k) => k.kid);
};

describe('a notification verifies only at its own endpoint', () => {
  it('verifies org A\'s notification with A\'s key set, issuer and subject, and refuses org B\'s sent to the same URL and A\'s live mode\'s', async () => {
    const url = `${receiver.url}/hooks/a`;
    const a = await endpoint(t.admin, url);
    // Org B points an endpoint of its own at A's receiver.
    const b = await endpoint(orgB, url);
    expect(a.centrapay.subject).toBe(a.id);
    expect(a.centrapay.issuer).not.toBe(b.centrapay.issuer);
    const [prA, prB] = [await paidRequest(t.admin), await paidRequest(orgB)];
    const of = (pr: string) => () => receiver.received.find((r) => r.path === '/hooks/a' && r.json?.data?.paymentRequestId === pr);
    await receiver.waitFor(() => of(prA)() !== undefined && of(prB)() !== undefined);
    const fromA = of(prA)() as Received;
    const fromB = of(prB)() as Received;

    const payload = await verifyAs(a.centrapay, url, fromA);
    expect(payload).toMatchObject({ iss: a.centrapay.issuer, sub: a.id, aud: url });
    // B's notification: signed by a key that is not in A's set, and naming another issuer and subject.
    await expect(verifyAs(a.centrapay, url, fromB)).rejects.toThrow(/no applicable key found in the JSON Web Key Set/);
    await expect(verifyAs({ ...b.centrapay, issuer: a.centrapay.issuer, subject: a.centrapay.subject }, url, fromB)).rejects.toThrow(/unexpected "iss" claim value/);
    // It is a good notification for B's own endpoint: only where it was sent is wrong.
    await verifyAs(b.centrapay, url, fromB);

    // A's live-mode endpoint: a live notification rendered by the centrapay format (live
    // endpoints never reach a local receiver) with the same audience as A's test endpoint.
    const live = await endpoint(liveA, 'https://hooks.example/centrapay');
    const liveRequest = await paidRequest(liveA);
    const events = (await liveA.get('/v1/events?types=payment_request.paid')).body.data as { id: string; paymentRequestId: string }[];
    const event = (await findEventById(t.server.deps.store, events.find((e) => e.paymentRequestId === liveRequest)?.id ?? '')) as StoredEvent;
    expect(event.mode).toBe('live');
    const rendered = await t.server.deps.webhookFormats.get('centrapay').render(event, { deliveryId: 'live', attempt: 0, secrets: [live.secret], sentAt: new Date(t.clock.now()), endpointId: live.id, url, currencies: t.server.deps.currencies, publicUrl: t.server.deps.settings.publicUrl });
    const fromLive = { body: rendered.body, headers: rendered.headers };
    expect(decodeJwt(rendered.headers['authorization'] ?? '')).toMatchObject({ iss: live.centrapay.issuer, sub: live.id });
    expect(live.centrapay.issuer).toMatch(/\/live$/);
    expect(a.centrapay.issuer).toMatch(/\/test$/);
    await expect(verifyAs(a.centrapay, url, fromLive)).rejects.toThrow(/no applicable key found in the JSON Web Key Set/);
    await expect(verifyAs({ ...live.centrapay, issuer: a.centrapay.issuer, subject: a.centrapay.subject }, url, fromLive)).rejects.toThrow(/unexpected "iss" claim value/);
    await verifyAs(live.centrapay, url, fromLive);
  });
});

describe('key sets', () => {
  it('lists an endpoint\'s key alone; a disabled endpoint\'s key leaves it and returns when enabled; a deleted one\'s set is gone; the shared URL answers 410', async () => {
    const one = await endpoint(t.admin, `${receiver.url}/hooks/one`);
    const two = await endpoint(t.admin, `${receiver.url}/hooks/two`);
    const [kidsOne, kidsTwo] = [await kids(one.centrapay), await kids(two.centrapay)];
    expect(kidsOne).toHaveLength(1);
    expect(kidsTwo).toHaveLength(1);
    expect(kidsOne).not.toEqual(kidsTwo);
    const set = await anonymous().request('GET', new URL(one.centrapay.jwksUrl).pathname);
    expect(set.headers.get('cache-control')).toBe('public, max-age=300');
    expect(set.body.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(set.body.keys[0].d).toBeUndefined();
    // The endpoint shows what to pin, in every answer about it.
    expect((await t.admin.get(`/v1/webhook-endpoints/${one.id}`)).body.centrapay).toEqual(one.centrapay);
    expect((await t.admin.get('/v1/webhook-endpoints')).body.data.find((e: { id: string }) => e.id === one.id).centrapay).toEqual(one.centrapay);

    expect((await t.admin.request('PATCH', `/v1/webhook-endpoints/${one.id}`, { disabled: true })).status).toBe(200);
    expect(await kids(one.centrapay)).toEqual([]);
    expect(await kids(two.centrapay)).toEqual(kidsTwo);
    expect((await t.admin.request('PATCH', `/v1/webhook-endpoints/${one.id}`, { disabled: false })).status).toBe(200);
    expect(await kids(one.centrapay)).toEqual(kidsOne);

    expect((await t.admin.request('DELETE', `/v1/webhook-endpoints/${one.id}`)).status).toBe(200);
    const gone = await anonymous().request('GET', new URL(one.centrapay.jwksUrl).pathname);
    expect(gone.status).toBe(404);
    expect(gone.body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Not Found' });
    // Other formats have no key set, and neither has an id that is none.
    const standard = (await t.admin.post('/v1/webhook-endpoints', { url: `${receiver.url}/hooks/standard` })).body;
    expect(standard.centrapay).toBeUndefined();
    for (const id of [standard.id as string, 'not-an-id', '01890000-0000-7000-8000-000000000000']) {
      expect((await anonymous().get(`/compat/centrapay/webhook-endpoints/${id}/jwks.json`)).status, id).toBe(404);
    }

    const shared = await anonymous().get('/compat/centrapay/.well-known/jwks.json');
    expect(shared.status).toBe(410);
    expect(shared.body).toMatchObject({ statusCode: 410, error: 'Gone' });
    expect(shared.body.message).toContain('/compat/centrapay/webhook-endpoints/{id}/jwks.json');
  });

  it('derives a key set once for any number of fetches, again after a rotation, and drops the old key when the overlap ends', async () => {
    const e = await endpoint(t.admin, `${receiver.url}/hooks/cached`);
    const derived = await keySets('derived');
    const first = await kids(e.centrapay);
    await Promise.all(Array.from({ length: 50 }, async () => expect(await kids(e.centrapay)).toEqual(first)));
    expect(await keySets('derived')).toBe(derived + 1);
    expect(await keySets('cached')).toBeGreaterThanOrEqual(50);

    expect((await t.admin.post(`/v1/webhook-endpoints/${e.id}/rotate-secret`)).status).toBe(200);
    const rotated = await kids(e.centrapay);
    expect(rotated).toHaveLength(2);
    expect(rotated[1]).toBe(first[0]);
    for (let i = 0; i < 20; i++) expect(await kids(e.centrapay)).toEqual(rotated);
    expect(await keySets('derived')).toBe(derived + 2);
    // PAYREQ_WEBHOOK_SECRET_OVERLAP_SECONDS (an hour in tests) later, only the new key is left.
    t.clock.advance(3601_000);
    expect(await kids(e.centrapay)).toEqual([rotated[0]]);
    expect(await keySets('derived')).toBe(derived + 2);
  });

  it('is seen afresh by another server on the same database after a rotation, a disable and an enable there', async () => {
    const other = await startTestServer({}, { database: t.database, adminKey: t.adminKey });
    try {
      const e = await endpoint(t.admin, `${receiver.url}/hooks/two-servers`);
      const path = new URL(e.centrapay.jwksUrl).pathname;
      const at = async (server: TestServer) => {
        const res = await new Client(server.url, undefined).get(path);
        expect(res.status).toBe(200);
        return (res.body.keys as { kid: string }[]).map((k) => k.kid);
      };
      const first = await at(other);
      expect(await at(t)).toEqual(first);
      expect((await t.admin.post(`/v1/webhook-endpoints/${e.id}/rotate-secret`)).status).toBe(200);
      const rotated = await at(other);
      expect(rotated).toHaveLength(2);
      expect(rotated).toContain(first[0]);
      expect((await t.admin.request('PATCH', `/v1/webhook-endpoints/${e.id}`, { disabled: true })).status).toBe(200);
      expect(await at(other)).toEqual([]);
      expect((await other.admin.request('PATCH', `/v1/webhook-endpoints/${e.id}`, { disabled: false })).status).toBe(200);
      expect(await at(t)).toEqual(rotated);
    } finally {
      await other.close();
    }
  });

  it('answers concurrent fetches over 300 endpoints from memory, without slowing a tenant\'s calls (prints the p99)', { timeout: 120_000 }, async () => {
    const ids: Verification[] = [];
    let started = 0;
    const make = async () => {
      while (started++ < 300) ids.push((await endpoint(t.admin, `${receiver.url}/hooks/many`)).centrapay);
    };
    await Promise.all(Array.from({ length: 8 }, make));
    const paths = ids.map((v) => new URL(v.jwksUrl).pathname);
    const timed = async (fn: () => Promise<unknown>, into: number[]) => {
      const start = performance.now();
      await fn();
      into.push(performance.now() - start);
    };
    const at = (q: number) => (ms: number[]) => [...ms].sort((x, y) => x - y)[Math.floor(ms.length * q)] ?? 0;
    const [p50, p99] = [at(0.5), at(0.99)];
    // 8 anonymous callers fetch every endpoint's set twice over while one tenant lists its requests.
    const round = async () => {
      const jwks: number[] = [];
      const tenant: number[] = [];
      let next = 0;
      const caller = async () => {
        while (next < paths.length * 2) {
          const path = paths[next++ % paths.length] as string;
          await timed(async () => expect((await anonymous().get(path)).status).toBe(200), jwks);
        }
      };
      let done = false;
      const tenantCalls = (async () => {
        while (!done) await timed(() => t.admin.get('/v1/payment-requests?limit=10'), tenant);
      })();
      await Promise.all(Array.from({ length: 8 }, caller));
      done = true;
      await tenantCalls;
      return { jwks, tenant };
    };
    const derived = await keySets('derived');
    const cold = await round();
    expect(await keySets('derived')).toBe(derived + 300);
    const warm = await round();
    expect(await keySets('derived')).toBe(derived + 300);
    const figure = `centrapay key sets, 300 endpoints, 8 concurrent callers, ${warm.jwks.length} fetches a round: p50/p99 ${p50(cold.jwks).toFixed(1)}/${p99(cold.jwks).toFixed(1)} ms cold, ${p50(warm.jwks).toFixed(1)}/${p99(warm.jwks).toFixed(1)} ms warm; a tenant's GET /v1/payment-requests meanwhile ${p50(warm.tenant).toFixed(1)}/${p99(warm.tenant).toFixed(1)} ms (${t.database.engine})`;
    console.log(figure);
    expect(warm.tenant.length).toBeGreaterThan(0);
  });
});
