/**
 * DeltaPay's flows in canonical form (https://github.com/DeltaCrypt/deltapay-api-docs): a request to a
 * user by username or phone; approve → succeeded (paid) or failed (insufficient funds);
 * reject (decline); sender cancels; view by metadata (most recent wins); incoming and
 * outgoing lists with status filters; permissions "generally or specifically for the account".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, createAccount, createKey, createMerchant, createRequest, createUserWithAccount, unique } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('DeltaPay approve', () => {
  it('approve → succeeded moves the money and answers paid', async () => {
    const payee = await createUserWithAccount(t.admin);
    const username = unique('carol');
    const payer = await createUserWithAccount(t.admin, 'USD', '30', { username });
    const pr = await createRequest(t.admin, payee.accountId, { amount: '12.34', payer: { username }, transactionType: 'p2p', tillId: '7' });
    expect(pr.payer).toMatchObject({ accountId: null, partyId: payer.partyId, partyType: 'user', partyNumber: expect.any(Number) });
    const res = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    expect(res.body).toMatchObject({ status: 'paid', amountPaid: '12.34', failureReason: null, transactionType: 'p2p', tillId: '7' });
    expect(await balanceOf(t.admin, payer.accountId)).toBe('17.66');
  });

  it('approve without the funds is refused 409 insufficient_funds: nothing moves and the request stays pending for the payer to pay later', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '5');
    const pr = await createRequest(t.admin, payee.accountId, { amount: '12.34', payer: { accountId: payer.accountId } });
    const res = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'insufficient_funds' });
    expect(await balanceOf(t.admin, payer.accountId)).toBe('5.00');
    expect(await balanceOf(t.admin, payee.accountId)).toBe('0.00');
    const events = await t.admin.get(`/v1/payment-requests/${pr.id}/events`);
    expect(events.body.data.map((e: { type: string }) => e.type)).toEqual(['payment_request.created']);
    await t.admin.post(`/v1/test-helpers/accounts/${payer.accountId}/fund`, { amount: '10' });
    const paid = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    expect(paid.body).toMatchObject({ status: 'paid', amountPaid: '12.34' });
  });

  it('approve from a closed account is refused 409 account_closed and the request stays pending', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD');
    await t.admin.post(`/v1/accounts/${payer.accountId}/close`);
    const pr = await createRequest(t.admin, payee.accountId, { payer: { partyId: payer.partyId } });
    const res = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('account_closed');
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}`)).body.status).toBe('pending');
  });

  it('approve from an account in a currency not offered is refused 422 currency_mismatch and the request stays pending', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'EUR', '50');
    const pr = await createRequest(t.admin, payee.accountId, { payer: { partyId: payer.partyId } });
    const res = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'currency_mismatch', errors: [{ path: 'accountId' }] });
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}`)).body.status).toBe('pending');
  });

  it('rejects approval from an account that is not the payer', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '50');
    const stranger = await createUserWithAccount(t.admin, 'USD', '50');
    const pr = await createRequest(t.admin, payee.accountId, { payer: { partyId: payer.partyId } });
    const res = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: stranger.accountId });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('account_not_allowed');
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}`)).body.status).toBe('pending');
  });

  it('a repeated approve by the same key answers the paid request unchanged and debits once', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '50');
    const pr = await createRequest(t.admin, payee.accountId, { payer: { accountId: payer.accountId } });
    const first = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    const second = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(await balanceOf(t.admin, payer.accountId)).toBe('40.00');
  });
});

describe('DeltaPay reject and cancel', () => {
  it('the recipient rejects (declined), the sender cancels (cancelled), repeats answer 200, others 409', async () => {
    const payee = await createUserWithAccount(t.admin);
    const phone = '+64211234567';
    const payer = await createUserWithAccount(t.admin, 'USD', '10', { phone });
    const a = await createRequest(t.admin, payee.accountId, { payer: { phone: '+64 21 123 4567' } });
    expect(a.payer.partyId).toBe(payer.partyId);
    const declined = await t.admin.post(`/v1/payment-requests/${a.id}/decline`);
    expect(declined.body.status).toBe('declined');
    expect((await t.admin.post(`/v1/payment-requests/${a.id}/decline`)).status).toBe(200);
    const cancelLate = await t.admin.post(`/v1/payment-requests/${a.id}/cancel`);
    expect(cancelLate.status).toBe(409);
    expect(cancelLate.body).toMatchObject({ code: 'invalid_transition', currentStatus: 'declined' });

    const b = await createRequest(t.admin, payee.accountId, { payer: { partyId: payer.partyId } });
    expect((await t.admin.post(`/v1/payment-requests/${b.id}/cancel`)).body.status).toBe('cancelled');
    const again = await t.admin.post(`/v1/payment-requests/${b.id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body.sequence).toBe(2);
    expect((await t.admin.post(`/v1/payment-requests/${b.id}/approve`, { accountId: payer.accountId })).status).toBe(409);
  });

  it('answers payer_not_found for an unknown username or phone', async () => {
    const payee = await createUserWithAccount(t.admin);
    for (const payer of [{ username: 'nobody-here' }, { phone: '+14155550199' }]) {
      const res = await t.admin.post('/v1/payment-requests', { amount: '1', currency: 'USD', payee: { accountId: payee.accountId }, payer, expiresIn: 600 });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('payer_not_found');
    }
  });
});

describe('DeltaPay views', () => {
  it('finds by metadata, most recent first', async () => {
    const payee = await createUserWithAccount(t.admin);
    const order = unique('order');
    const older = await createRequest(t.admin, payee.accountId, { metadata: { order } });
    const newer = await createRequest(t.admin, payee.accountId, { metadata: { order, note: 'second' } });
    await createRequest(t.admin, payee.accountId, { metadata: { order: 'other' } });
    const res = await t.admin.get(`/v1/payment-requests?metadata[order]=${order}&limit=1`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((r: { id: string }) => r.id)).toEqual([newer.id]);
    expect(res.body.hasMore).toBe(true);
    const all = await t.admin.get(`/v1/payment-requests?metadata[order]=${order}`);
    expect(all.body.data.map((r: { id: string }) => r.id)).toEqual([newer.id, older.id]);
    const both = await t.admin.get(`/v1/payment-requests?metadata[order]=${order}&metadata[note]=second`);
    expect(both.body.data.map((r: { id: string }) => r.id)).toEqual([newer.id]);
    expect((await t.admin.get('/v1/payment-requests?bogus=1')).status).toBe(422);
  });

  it('lists incoming and outgoing requests of users and legal entities with status filters', async () => {
    const shop = await createMerchant(t.admin, 'Corner Shop');
    const shopAccount = await createAccount(t.admin, shop, 'USD');
    const user = await createUserWithAccount(t.admin, 'USD', '100');
    const friend = await createUserWithAccount(t.admin, 'USD', '100');
    const fromShop = await createRequest(t.admin, shopAccount, { payer: { partyId: user.partyId } });
    const fromShopPaid = await createRequest(t.admin, shopAccount, { payer: { partyId: user.partyId } });
    await t.admin.post(`/v1/payment-requests/${fromShopPaid.id}/approve`, { accountId: user.accountId });
    const fromUser = await createRequest(t.admin, user.accountId, { payer: { partyId: friend.partyId } });

    const ids = (res: { body: { data: { id: string }[] } }) => res.body.data.map((r) => r.id);
    expect(ids(await t.admin.get(`/v1/parties/${user.partyId}/payment-requests?direction=incoming`))).toEqual([fromShopPaid.id, fromShop.id]);
    expect(ids(await t.admin.get(`/v1/parties/${user.partyId}/payment-requests?direction=incoming&status=pending`))).toEqual([fromShop.id]);
    expect(ids(await t.admin.get(`/v1/parties/${user.partyId}/payment-requests?direction=incoming&status=paid`))).toEqual([fromShopPaid.id]);
    expect(ids(await t.admin.get(`/v1/parties/${user.partyId}/payment-requests?direction=outgoing`))).toEqual([fromUser.id]);
    expect(ids(await t.admin.get(`/v1/parties/${shop}/payment-requests?direction=outgoing&status=pending`))).toEqual([fromShop.id]);
    expect(ids(await t.admin.get(`/v1/parties/${friend.partyId}/payment-requests?direction=incoming`))).toEqual([fromUser.id]);
    const merchantView = await t.admin.get(`/v1/payment-requests/${fromShop.id}`);
    expect(merchantView.body.merchant).toMatchObject({ id: shop, name: 'Corner Shop' });
    expect((await t.admin.get(`/v1/parties/${user.partyId}/payment-requests?direction=sideways`)).status).toBe(422);
  });

  it('pages through a list with a cursor, most recent first, without gaps or repeats', async () => {
    const payee = await createUserWithAccount(t.admin);
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await createRequest(t.admin, payee.accountId)).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.admin.get(`/v1/payment-requests?payeeAccountId=${payee.accountId}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...res.body.data.map((r: { id: string }) => r.id));
      cursor = res.body.nextCursor;
      expect(res.body.hasMore).toBe(cursor !== null);
    } while (cursor);
    expect(seen).toEqual([...made].reverse());
    expect((await t.admin.get('/v1/payment-requests?cursor=not-a-cursor')).body.code).toBe('invalid_cursor');
  });
});

describe('DeltaPay permissions', () => {
  it('a key scoped to an account creates there, not elsewhere, and sees only its requests', async () => {
    const mine = await createUserWithAccount(t.admin);
    const other = await createUserWithAccount(t.admin);
    const key = await createKey(t.admin, [
      { permission: 'payment_requests:create', accountId: mine.accountId },
      { permission: 'payment_requests:read', accountId: mine.accountId },
    ]);
    const scoped = t.client(key);
    const own = await createRequest(scoped, mine.accountId);
    const foreign = await scoped.post('/v1/payment-requests', { amount: '1', currency: 'USD', payee: { accountId: other.accountId }, expiresIn: 600 });
    expect(foreign.status).toBe(404);
    const othersRequest = await createRequest(t.admin, other.accountId);
    expect((await scoped.get(`/v1/payment-requests/${othersRequest.id}`)).status).toBe(404);
    expect((await scoped.get(`/v1/payment-requests/${own.id}`)).status).toBe(200);
    const list = await scoped.get('/v1/payment-requests');
    expect(list.body.data.map((r: { id: string }) => r.id)).toEqual([own.id]);
    expect((await scoped.post(`/v1/payment-requests/${own.id}/cancel`)).status).toBe(403);
    expect((await scoped.post('/v1/parties', { type: 'user', username: unique('x') })).status).toBe(403);
  });

  it('a payer key scoped to its party sees its incoming requests and pays them', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '20');
    const key = await createKey(t.admin, [{ permission: 'payment_requests:pay', partyId: payer.partyId }]);
    const app = t.client(key);
    const pr = await createRequest(t.admin, payee.accountId, { payer: { partyId: payer.partyId } });
    const incoming = await app.get(`/v1/parties/${payer.partyId}/payment-requests?direction=incoming&status=pending`);
    expect(incoming.body.data.map((r: { id: string }) => r.id)).toEqual([pr.id]);
    const paid = await app.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    expect(paid.body.status).toBe('paid');
    expect((await app.get(`/v1/accounts/${payer.accountId}`)).body.balance).toBe('10.00');
  });

  it('a key cannot grant what it does not hold', async () => {
    const mine = await createUserWithAccount(t.admin);
    const manager = await createKey(t.admin, [{ permission: 'api_keys:manage' }, { permission: 'payment_requests:read', accountId: mine.accountId }]);
    const res = await t.client(manager).post('/v1/api-keys', { grants: [{ permission: 'admin' }] });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_grant');
    const ok = await t.client(manager).post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read', accountId: mine.accountId }] });
    expect(ok.status).toBe(201);
    expect(ok.body.secret).toMatch(/^prq_test_/);
  });
});
