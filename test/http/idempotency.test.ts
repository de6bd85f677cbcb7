/**
 * `Idempotency-Key` (Stripe's idempotent requests): same key and body → first response; different
 * body → 422. A key belongs to the API key that sent it: another API key never gets its answer,
 * and a refusal with no effect is not stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let payee: string;
beforeAll(async () => {
  t = await startTestServer();
  payee = (await createUserWithAccount(t.admin)).accountId;
});
afterAll(() => t.close());

const body = () => ({ amount: '10.00', currency: 'USD', payee: { accountId: payee }, expiresIn: 600 });

describe('Idempotency-Key', () => {
  it('returns the first response for the same key and body, creating one request', async () => {
    const headers = { 'idempotency-key': 'order-1001' };
    const first = await t.admin.post('/v1/payment-requests', body(), headers);
    const second = await t.admin.post('/v1/payment-requests', body(), headers);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const list = await t.admin.get(`/v1/payment-requests?payeeAccountId=${payee}`);
    expect(list.body.data.filter((r: { id: string }) => r.id === first.body.id)).toHaveLength(1);
    expect(list.body.data).toHaveLength(1);
  });

  it('answers 422 idempotency_key_reused for the same key with a different body', async () => {
    const headers = { 'idempotency-key': 'order-1002' };
    expect((await t.admin.post('/v1/payment-requests', body(), headers)).status).toBe(201);
    const res = await t.admin.post('/v1/payment-requests', { ...body(), amount: '11.00' }, headers);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('idempotency_key_reused');
  });

  it('stores no refusal that had no effect: the retry runs again', async () => {
    const headers = { 'idempotency-key': 'bad-1' };
    const first = await t.admin.post('/v1/payment-requests', { ...body(), amount: '0' }, headers);
    const second = await t.admin.post('/v1/payment-requests', { ...body(), amount: '0' }, headers);
    expect(first.status).toBe(422);
    expect(second.status).toBe(422);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(second.headers.get('content-type')).toMatch(/problem\+json/);
    expect(second.body.code).toBe('invalid_amount');
  });

  it('keeps a key for 24 hours, then lets it be used afresh', async () => {
    const headers = { 'idempotency-key': 'order-expiring' };
    const first = await t.admin.post('/v1/payment-requests', body(), headers);
    t.clock.advance(23 * 3600_000);
    const replay = await t.admin.post('/v1/payment-requests', body(), headers);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(first.body.id);
    t.clock.advance(3600_000 + 1);
    const fresh = await t.admin.post('/v1/payment-requests', { ...body(), amount: '12.00' }, headers);
    expect(fresh.status).toBe(201);
    expect(fresh.headers.get('idempotent-replayed')).toBeNull();
    expect(fresh.body.id).not.toBe(first.body.id);
  });

  it('makes one state change for concurrent retries of one command', async () => {
    const payer = await createUserWithAccount(t.admin, 'USD', '100');
    const pr = (await t.admin.post('/v1/payment-requests', { ...body(), payer: { accountId: payer.accountId } })).body;
    const headers = { 'idempotency-key': `pay-${pr.id}` };
    const results = await Promise.all(Array.from({ length: 10 }, () => t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId }, headers)));
    for (const r of results) expect([200, 409]).toContain(r.status);
    expect(results.some((r) => r.status === 200 && r.body.status === 'paid')).toBe(true);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.code).toBe('idempotency_key_in_use');
    expect((await t.admin.get(`/v1/accounts/${payer.accountId}`)).body.balance).toBe('90.00');
  });
});

describe('Idempotency-Key belongs to the API key that sent it', () => {
  it('gives a key without api_keys:manage its own 403, never the secret of an admin\'s POST /v1/api-keys', async () => {
    const request = { name: 'ci', grants: [{ permission: 'payment_requests:read' }] };
    const headers = { 'idempotency-key': 'new-key-1' };
    const created = await t.admin.post('/v1/api-keys', request, headers);
    expect(created.status).toBe(201);
    const weak = t.client(await createKey(t.admin, [{ permission: 'payment_requests:create' }]));
    const replay = await weak.post('/v1/api-keys', request, headers);
    expect(replay.status).toBe(403);
    expect(replay.body.code).toBe('forbidden');
    expect(replay.headers.get('idempotent-replayed')).toBeNull();
    expect(JSON.stringify(replay.body)).not.toContain(created.body.secret);
    // The admin's own retry still gets its answer.
    const again = await t.admin.post('/v1/api-keys', request, headers);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.secret).toBe(created.body.secret);
  });

  it('gives a pay-only key its own refusal for a merchant\'s create, not the merchant\'s request', async () => {
    const merchant = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '50');
    const merchantKey = t.client(await createKey(t.admin, [{ permission: 'payment_requests:create', partyId: merchant.partyId }]));
    const payOnly = t.client(await createKey(t.admin, [{ permission: 'payment_requests:pay', accountId: payer.accountId }]));
    const request = { amount: '5.00', currency: 'USD', payee: { accountId: merchant.accountId }, expiresIn: 600 };
    const headers = { 'idempotency-key': 'invoice-77' };
    const created = await merchantKey.post('/v1/payment-requests', request, headers);
    expect(created.status).toBe(201);
    expect((await payOnly.get(`/v1/payment-requests/${created.body.id}`)).status).toBe(404);
    const replay = await payOnly.post('/v1/payment-requests', request, headers);
    expect(replay.status).toBe(404);
    expect(replay.headers.get('idempotent-replayed')).toBeNull();
    expect(JSON.stringify(replay.body)).not.toContain(created.body.id);
  });

  it('stores no refusal of another key that sent the key first: the rightful caller then runs for real', async () => {
    const readOnly = t.client(await createKey(t.admin, [{ permission: 'payment_requests:read' }]));
    const headers = { 'idempotency-key': 'order-2001' };
    const refused = await readOnly.post('/v1/payment-requests', body(), headers);
    expect(refused.status).toBe(404);
    const real = await t.admin.post('/v1/payment-requests', body(), headers);
    expect(real.status).toBe(201);
    expect(real.headers.get('idempotent-replayed')).toBeNull();
    expect((await t.admin.get(`/v1/payment-requests/${real.body.id}`)).status).toBe(200);
    // The refused key, retrying, runs again and is refused again (nothing was stored for it either).
    const again = await readOnly.post('/v1/payment-requests', body(), headers);
    expect(again.status).toBe(404);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
  });

  it('runs the same key and body sent by two API keys as two requests', async () => {
    const other = t.client(await createKey(t.admin, [{ permission: 'admin' }]));
    const headers = { 'idempotency-key': 'order-2002' };
    const first = await t.admin.post('/v1/payment-requests', body(), headers);
    const second = await other.post('/v1/payment-requests', body(), headers);
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect(second.body.id).not.toBe(first.body.id);
    expect((await other.post('/v1/payment-requests', body(), headers)).body.id).toBe(second.body.id);
  });
});
