/**
 * AlphaPo's rules in canonical form (https://docs.alphapo.net): a unique
 * foreign id (externalId), a lifetime given as a duration or an exact time (exactly one,
 * bounded), description and URL limits, customer email and reference.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequest, createUserWithAccount, unique } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let payee: string;
beforeAll(async () => {
  t = await startTestServer({ minExpirySeconds: 60, maxExpirySeconds: 86_400 });
  payee = (await createUserWithAccount(t.admin, 'EUR')).accountId;
});
afterAll(() => t.close());

async function count(): Promise<number> {
  const res = await t.admin.get(`/v1/payment-requests?payeeAccountId=${payee}&limit=100`);
  return res.body.data.length as number;
}

describe('AlphaPo externalId', () => {
  it('answers 409 for a duplicate externalId and stores nothing', async () => {
    const externalId = unique('payment_request_');
    const pr = await createRequest(t.admin, payee, {
      amount: '100', currency: 'EUR', externalId, description: 'Order 0512',
      customer: { email: 'customer@example.com', reference: 'user_12345' },
      redirectUrls: { store: 'https://example.com/store', success: 'https://example.com/success', failed: 'https://example.com/fail' },
    });
    expect(pr).toMatchObject({ externalId, customer: { email: 'customer@example.com', reference: 'user_12345' }, redirectUrls: { store: 'https://example.com/store' } });
    const before = await count();
    const dup = await t.admin.post('/v1/payment-requests', { amount: '5', currency: 'EUR', payee: { accountId: payee }, externalId, expiresIn: 600 });
    expect(dup.status).toBe(409);
    expect(dup.body).toMatchObject({ code: 'external_id_conflict', errors: [{ path: 'externalId' }] });
    expect(await count()).toBe(before);
    const found = await t.admin.get(`/v1/payment-requests?externalId=${externalId}`);
    expect(found.body.data.map((r: { id: string }) => r.id)).toEqual([pr.id]);
  });
});

describe('AlphaPo lifetime rules', () => {
  const base = () => ({ amount: '1', currency: 'EUR', payee: { accountId: payee } });

  it.each([
    ['neither lifetime field', {}, /exactly one/],
    ['both lifetime fields', { expiresIn: 600, expiresAt: new Date(Date.now() + 600_000).toISOString() }, /not both/],
    ['a lifetime below the minimum', { expiresIn: 59 }, /at least 60/],
    ['a lifetime above the maximum', { expiresIn: 86_401 }, /at most 86400/],
    ['an expiry time in the past', { expiresAt: '2020-02-01T21:22:12.800Z' }, /at least 60/],
  ])('rejects %s with invalid_expiry', async (_name, lifetime, message) => {
    const before = await count();
    const res = await t.admin.post('/v1/payment-requests', { ...base(), ...lifetime });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_expiry');
    expect(res.body.detail).toMatch(message);
    expect(await count()).toBe(before);
  });

  it('accepts the bounds themselves', async () => {
    expect((await t.admin.post('/v1/payment-requests', { ...base(), expiresIn: 60 })).status).toBe(201);
    expect((await t.admin.post('/v1/payment-requests', { ...base(), expiresIn: 86_400 })).status).toBe(201);
  });

  it('rejects a non-integer or non-positive expiresIn and a malformed expiresAt', async () => {
    for (const lifetime of [{ expiresIn: 60.5 }, { expiresIn: 0 }, { expiresIn: '600' }, { expiresAt: 'tomorrow' }, { expiresAt: 1773768946 }]) {
      const res = await t.admin.post('/v1/payment-requests', { ...base(), ...lifetime });
      expect(res.status, JSON.stringify(lifetime)).toBe(422);
    }
  });
});

describe('AlphaPo field limits', () => {
  const base = () => ({ amount: '1', currency: 'EUR', payee: { accountId: payee }, expiresIn: 600 });
  it.each([
    ['description over 255', { description: 'x'.repeat(256) }, 'description'],
    ['externalId over 255', { externalId: 'x'.repeat(256) }, 'externalId'],
    ['empty externalId', { externalId: '' }, 'externalId'],
    ['a plain-http store URL', { redirectUrls: { store: 'http://example.com/store' } }, 'redirectUrls.store'],
    ['a malformed success URL', { redirectUrls: { success: 'not a url' } }, 'redirectUrls.success'],
    ['a malformed customer email', { customer: { email: 'nope' } }, 'customer.email'],
  ])('rejects %s', async (_name, fields, path) => {
    const res = await t.admin.post('/v1/payment-requests', { ...base(), ...fields });
    expect(res.status).toBe(422);
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
  });

  it('rejects too many decimals for the currency, as AlphaPo does', async () => {
    const res = await t.admin.post('/v1/payment-requests', { ...base(), amount: '0.001' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'invalid_amount', errors: [{ path: 'amount', message: expect.stringMatching(/more than 2 decimal places/) }] });
  });
});
