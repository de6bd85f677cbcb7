/**
 * AlphaPo's signed creates sent again: a request carries no nonce, so a create without
 * `foreign_id` captured once could be replayed verbatim to make duplicates. Payreq keeps a digest
 * of the signature of each such create for 24 hours and answers the same signature again with
 * AlphaPo's error format, creating nothing (docs/dialects/alphapo.md, "Replays").
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processingSignature } from '../../src/dialects/alphapo/auth.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { DIALECTS } from '../../src/dialects/index.js';
import { configureDialects } from '../../src/http/dialect.js';

let t: TestServer;
let eur = '';
const key = { id: '', key: '', secret: '' };

/** Posts `body` (exact bytes), signed with the key's signing secret unless `signature` is given. */
async function send(body: string, path = '/api/payments/v1/requests', signature = processingSignature(key.secret, body)) {
  const res = await fetch(`${t.url}/compat/alphapo${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-processing-key': key.key, 'x-processing-signature': signature }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { data?: Record<string, unknown> } };
}

async function count(): Promise<number> {
  const res = await t.admin.get(`/v1/payment-requests?payeeAccountId=${eur}&limit=100`);
  return res.body.data.length as number;
}

const REPLAYED = { error: 'A request with this signature was already received.', code: 400 };

beforeAll(async () => {
  t = await startTestServer({ dialects: configureDialects(DIALECTS, { PAYREQ_ALPHAPO_AMOUNT_LIMITS: '{"EUR": {"min": "1", "max": "10000"}}' }) });
  const shop = await t.admin.post('/v1/parties', { type: 'legal_entity', name: 'Shop' });
  eur = (await t.admin.post('/v1/accounts', { partyId: shop.body.id, currency: 'EUR' })).body.id;
  const created = await t.admin.post('/v1/api-keys', { grants: [{ permission: 'payment_requests:create', partyId: shop.body.id }], signingSecret: true });
  expect(created.status).toBe(201);
  Object.assign(key, { id: created.body.id, key: created.body.secret, secret: created.body.signingSecret });
});
afterAll(() => t.close());

describe('AlphaPo replays', () => {
  it('answers a signed create without foreign_id sent again verbatim with AlphaPo\'s error, creating no second request', async () => {
    const body = JSON.stringify({ amount: '10', currency: { iso: 'EUR' }, life_time_duration: 3600, description: 'Order 1' });
    const first = await send(body);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(await count()).toBe(1);
    for (const path of ['/api/payments/v1/requests', '/api/v2/requests']) {
      const again = await send(body, path);
      expect(again.status).toBe(400);
      expect(again.body).toEqual(REPLAYED);
    }
    expect(await count()).toBe(1);
    // Another order with the same fields is another body, so another signature: it is created.
    const other = await send(JSON.stringify({ amount: '10', currency: { iso: 'EUR' }, life_time_duration: 3600, description: 'Order 1', end_user_reference: 'second' }));
    expect(other.status).toBe(200);
    expect(await count()).toBe(2);
  });

  it('makes one request of concurrent replays', async () => {
    const body = JSON.stringify({ amount: '11', currency: { iso: 'EUR' }, life_time_duration: 3600 });
    const before = await count();
    const results = await Promise.all(Array.from({ length: 6 }, () => send(body)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expect(r).toEqual({ status: 400, body: REPLAYED });
    expect(await count()).toBe(before + 1);
  });

  it('records no signature for a create it refused: the same body is refused the same way again, not as a replay', async () => {
    const body = JSON.stringify({ amount: '20000', currency: { iso: 'EUR' }, life_time_duration: 3600 });
    const before = await count();
    const first = await send(body);
    expect(first.status).toBe(422);
    expect(await send(body)).toEqual(first);
    expect(await count()).toBe(before);
  });

  it('keeps only a digest of the signature, for 24 hours', async () => {
    const body = JSON.stringify({ amount: '12', currency: { iso: 'EUR' }, life_time_duration: 3600 });
    const signature = processingSignature(key.secret, body);
    expect((await send(body)).status).toBe(200);
    const digest = createHash('sha256').update(`${key.id}\n${signature}`).digest('hex');
    const rows = await t.server.deps.store.db.selectFrom('alphapo_signatures').selectAll().execute();
    expect(rows.map((r) => r.digest)).toContain(digest);
    expect(JSON.stringify(rows)).not.toContain(signature);
    t.clock.advance(23 * 3600_000);
    expect((await send(body)).body).toEqual(REPLAYED);
    t.clock.advance(3600_000 + 1000);
    const before = await count();
    const later = await send(body);
    expect(later.status, JSON.stringify(later.body)).toBe(200);
    expect(await count()).toBe(before + 1);
  });
});
