/**
 * Bad input gets a clear 4xx problem document and nothing is stored: oversized and malformed
 * bodies, unknown fields, amounts as floats, exponents, too many decimals, zero or negative,
 * unknown currencies, bad payees.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let payee: string;
beforeAll(async () => {
  t = await startTestServer();
  payee = (await createUserWithAccount(t.admin)).accountId;
});
afterAll(() => t.close());

async function rowCounts(): Promise<Record<string, number>> {
  const db = t.server.deps.store.db;
  const count = async (table: 'payment_requests' | 'events' | 'ledger_entries' | 'payments') =>
    Number((await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return { payment_requests: await count('payment_requests'), events: await count('events'), ledger_entries: await count('ledger_entries'), payments: await count('payments') };
}

const valid = () => ({ amount: '10.00', currency: 'USD', payee: { accountId: payee }, expiresIn: 600 });

describe('bad input', () => {
  it.each([
    ['a float amount', { amount: 25.5 }, 422, 'validation_failed', 'amount'],
    ['an integer JSON amount', { amount: 25 }, 422, 'validation_failed', 'amount'],
    ['an exponent', { amount: '1e3' }, 422, 'invalid_amount', 'amount'],
    ['too many decimals', { amount: '1.001' }, 422, 'invalid_amount', 'amount'],
    ['a zero amount', { amount: '0' }, 422, 'invalid_amount', 'amount'],
    ['a negative amount', { amount: '-5.00' }, 422, 'invalid_amount', 'amount'],
    ['an amount beyond uint256', { amount: '9'.repeat(80) }, 422, 'invalid_amount', 'amount'],
    ['an unknown currency', { currency: 'XYZ' }, 422, 'unknown_currency', 'currency'],
    ['a payee account in another currency', { currency: 'EUR' }, 422, 'currency_mismatch', 'currency'],
    ['an unknown payee account', { payee: { accountId: '01890000-0000-7000-8000-000000000000' } }, 404, 'account_not_found', 'payee.accountId'],
    ['an unknown field', { surprise: true }, 422, 'validation_failed', 'surprise'],
    ['an unknown nested field', { payee: { accountId: payee, extra: 1 } }, 422, 'validation_failed', 'payee.extra'],
    ['metadata that is not an object', { metadata: 'order 42' }, 422, 'validation_failed', 'metadata'],
    ['two payer forms at once', { payer: { username: 'a', phone: '+14155550100' } }, 422, 'validation_failed', 'payer'],
    ['an invalid payer phone', { payer: { phone: '+1 555' } }, 422, 'invalid_phone', 'payer.phone'],
  ])('rejects %s and stores nothing', async (_name, change, status, code, path) => {
    const before = await rowCounts();
    const res = await t.admin.post('/v1/payment-requests', { ...valid(), ...change });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code, status, type: `/docs/errors#${code}` });
    expect(typeof res.body.requestId).toBe('string');
    expect(typeof res.body.detail).toBe('string');
    if (res.body.errors) expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    expect(await rowCounts()).toEqual(before);
  });

  it('rejects malformed JSON with 400', async () => {
    const res = await t.admin.post('/v1/payment-requests', '{"amount": "1",', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('malformed_json');
  });

  it('rejects a body over 1 MiB with 413 and stores nothing', async () => {
    const before = await rowCounts();
    const res = await t.admin.post('/v1/payment-requests', { ...valid(), description: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('payload_too_large');
    expect(await rowCounts()).toEqual(before);
  });

  it('rejects a body that is not JSON with 415', async () => {
    const res = await t.admin.post('/v1/payment-requests', 'amount=1', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('unsupported_media_type');
  });

  it('rejects bad amounts on payments, refunds and funding without moving money', async () => {
    const pr = (await t.admin.post('/v1/payment-requests', valid())).body;
    const before = await rowCounts();
    for (const [path, body] of [
      [`/v1/payment-requests/${pr.id}/payments`, { amount: '10.001', reference: 'r1' }],
      [`/v1/payment-requests/${pr.id}/payments`, { amount: 10, reference: 'r1' }],
      [`/v1/payment-requests/${pr.id}/payments`, { amount: '-1', reference: 'r1' }],
      [`/v1/payment-requests/${pr.id}/refunds`, { amount: '0' }],
      [`/v1/test-helpers/accounts/${payee}/fund`, { amount: '1e2' }],
      [`/v1/test-helpers/accounts/${payee}/fund`, { amount: '0' }],
    ] as const) {
      const res = await t.admin.post(path, body);
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
    }
    expect(await rowCounts()).toEqual(before);
  });

  it('answers 404 problem documents for unknown routes and ids', async () => {
    const route = await t.admin.get('/v1/nothing-here');
    expect(route.status).toBe(404);
    expect(route.body.code).toBe('route_not_found');
    for (const id of ['nope', '01890000-0000-7000-8000-000000000000']) {
      const res = await t.admin.get(`/v1/payment-requests/${id}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('payment_request_not_found');
    }
  });

  it('rejects a duplicate username and a taken phone with 409', async () => {
    const phone = '+442071838750';
    expect((await t.admin.post('/v1/parties', { type: 'user', username: 'dupe', phone })).status).toBe(201);
    expect((await t.admin.post('/v1/parties', { type: 'user', username: 'dupe' })).body.code).toBe('username_taken');
    expect((await t.admin.post('/v1/parties', { type: 'user', username: 'other', phone: '+44 20 7183 8750' })).body.code).toBe('phone_taken');
    expect((await t.admin.post('/v1/parties', { type: 'user', phone: '12345' })).body.code).toBe('invalid_phone');
    expect((await t.admin.post('/v1/parties', { type: 'legal_entity' })).status).toBe(422);
  });
});
