/**
 * Integer numbers per org and mode for parties, accounts and payment requests (the ids the
 * Pismo and DeltaPay dialects speak in): from 1, distinct under concurrent creation, and a
 * `number` filter on the payment request list.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

describe('numbers', () => {
  it('numbers parties, accounts and requests from 1, distinct under concurrent creates', async () => {
    const payee = await createUserWithAccount(t.admin);
    const party = (await t.admin.get(`/v1/parties/${payee.partyId}`)).body;
    const account = (await t.admin.get(`/v1/accounts/${payee.accountId}`)).body;
    expect(party.number).toBe(1);
    expect(account.number).toBe(1);
    const created = await Promise.all(Array.from({ length: 30 }, () => t.admin.post('/v1/payment-requests', { amount: '1', currency: 'USD', payee: { accountId: payee.accountId }, expiresIn: 600 })));
    for (const res of created) expect(res.status).toBe(201);
    expect(created.map((r) => r.body.number as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const seventh = created.find((r) => r.body.number === 7)!.body;
    const found = await t.admin.get('/v1/payment-requests?number=7');
    expect(found.body.data.map((r: { id: string }) => r.id)).toEqual([seventh.id]);
    expect((await t.admin.get('/v1/payment-requests?number=0')).status).toBe(422);
  });
});
