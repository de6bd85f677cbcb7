/**
 * Free-form JSON nests at most 32 levels deep (docs/api.md, "Creating"): a request's metadata,
 * a merchant's configuration, Pismo's metadata and Request Network's customerInfo. Deeper values,
 * up to thousands of levels (which once overflowed the stack while their size was measured), are
 * a 4xx in the route's own error format, never a 500; 32 levels are accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { createUser, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let payee: string;
let pismo: Client;
beforeAll(async () => {
  t = await startTestServer();
  payee = (await createUserWithAccount(t.admin)).accountId;
  pismo = new Client(`${t.url}/compat/pismo`, t.adminKey);
  const party = await createUser(t.admin);
  expect((await t.admin.post('/v1/accounts', { partyId: party, currency: 'USD', number: 7321 })).status).toBe(201);
});
afterAll(() => t.close());

/** JSON text of `levels` nested objects around a number: `{"a":{"a":1}}` is 2 levels. */
const nestedObject = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
/** JSON text of `levels` nested arrays: `[[1]]` is 2 levels. */
const nestedArray = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;

function postJson(client: Client, path: string, text: string) {
  return client.request('POST', path, text, { 'content-type': 'application/json' });
}

const v1Body = (metadata: string) => `{"amount":"1.00","currency":"USD","payee":{"accountId":"${payee}"},"expiresIn":600,"metadata":${metadata}}`;

describe('metadata depth on /v1', () => {
  it.each([33, 5000])('refuses metadata %i levels deep with 422 validation_failed at metadata', async (levels) => {
    const res = await postJson(t.admin, '/v1/payment-requests', v1Body(nestedObject(levels)));
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'metadata', message: expect.stringMatching(/at most 32 levels/) }] });
  });

  it('refuses 5000 levels with an Idempotency-Key too', async () => {
    const res = await t.admin.request('POST', '/v1/payment-requests', v1Body(nestedObject(5000)), { 'content-type': 'application/json', 'idempotency-key': 'deep-5000' });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('validation_failed');
  });

  it('accepts metadata 32 levels deep and shows it back', async () => {
    const res = await postJson(t.admin, '/v1/payment-requests', v1Body(nestedObject(32)));
    expect(res.status).toBe(201);
    expect(res.body.metadata).toEqual(JSON.parse(nestedObject(32)));
  });

  it('counts arrays as levels too', async () => {
    expect((await postJson(t.admin, '/v1/payment-requests', v1Body(`{"a":${nestedArray(32)}}`))).status).toBe(422);
    expect((await postJson(t.admin, '/v1/payment-requests', v1Body(`{"a":${nestedArray(31)}}`))).status).toBe(201);
  });

  it.each([33, 5000])('refuses a merchant configuration %i levels deep with 422 at merchant', async (levels) => {
    const res = await postJson(t.admin, '/v1/parties', `{"type":"legal_entity","name":"Deep shop","merchant":${nestedObject(levels)}}`);
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'merchant' }] });
  });
});

describe('depth on the dialects that pass free-form JSON through', () => {
  const pismoCreate = (metadata: string) => `{"amount":1,"to":{"currency":"USD","account":{"id":7321}},"metadata":${metadata}}`;

  it.each([33, 1000])('Pismo refuses metadata %i levels deep in its own error format', async (levels) => {
    const res = await postJson(pismo, '/payments/v1/payment-requests', pismoCreate(nestedObject(levels)));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: 'VALIDATION_FAILED', errors: [{ field: 'metadata', message: expect.stringMatching(/at most 32 levels/) }] });
  });

  it('Pismo refuses 5000 levels in its own error format, not a 500', async () => {
    const res = await postJson(pismo, '/payments/v1/payment-requests', pismoCreate(nestedObject(5000)));
    expect(res.status).toBe(400);
    expect(typeof res.body.error_code).toBe('string');
  });

  it('Pismo accepts metadata 32 levels deep', async () => {
    const res = await postJson(pismo, '/payments/v1/payment-requests', pismoCreate(nestedObject(32)));
    expect(res.status).toBe(201);
    const stored = await t.admin.get(`/v1/payment-requests?code=${res.body.code}`);
    expect(stored.body.data[0].metadata).toEqual(JSON.parse(nestedObject(32)));
  });

  it('Pismo refuses a confirmation whose metadata array is 33 levels deep', async () => {
    const res = await postJson(pismo, '/payments/v1/payments', `{"token":"AAAA-AAAA-AAAA","from":[{"amount":1,"currency":"USD","account":{"id":7321}}],"metadata":${nestedArray(33)}}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error_code: 'VALIDATION_FAILED', errors: [{ field: 'metadata' }] });
  });

  it('Request Network refuses customerInfo 33 levels deep in its own error format', async () => {
    const res = await fetch(`${t.url}/compat/request-network/v2/request`, {
      method: 'POST',
      headers: { 'x-api-key': t.adminKey, 'content-type': 'application/json' },
      body: `{"payee":"0x0000000000000000000000000000000000000001","amount":"1","invoiceCurrency":"USD","paymentCurrency":"USD","customerInfo":${nestedObject(33)}}`,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ statusCode: 400, message: 'Validation failed', errors: [{ field: 'customerInfo', message: expect.stringMatching(/at most 32 levels/) }] });
  });
});

describe('depth of a whole body, on a route that takes no body', () => {
  // A disabled endpoint on loopback (the test server's local opt-in): nothing is delivered. Its
  // rotate-secret has no body schema: nothing but the body bound stops a deep body before the
  // Idempotency-Key fingerprint serialises it.
  it.each([65, 5000, 200_000])('refuses a body %i levels deep sent with an Idempotency-Key with 422, not a 500', async (levels) => {
    const created = await t.admin.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', disabled: true });
    expect(created.status).toBe(201);
    const res = await t.admin.request('POST', `/v1/webhook-endpoints/${created.body.id}/rotate-secret`, nestedArray(levels), { 'content-type': 'application/json', 'idempotency-key': `deep-body-${levels}` });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'body', message: expect.stringMatching(/more than 64 levels/) }] });
  });

  it('lets a body 64 levels deep through to the route', async () => {
    const created = await t.admin.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hook', disabled: true });
    const res = await t.admin.request('POST', `/v1/webhook-endpoints/${created.body.id}/rotate-secret`, nestedArray(64), { 'content-type': 'application/json', 'idempotency-key': 'deep-body-64' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });
});
