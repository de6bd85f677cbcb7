/**
 * Where money goes when a settlement does not happen or a request ends early: a refusal from the
 * payer's side (too little money, a currency not offered, a closed account) leaves the request
 * payable and shows the caller nothing of it; a request that ends partly paid says so and can
 * still give the money back; an account with a balance does not close without naming where the
 * balance goes. On both engines, over real HTTP.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceSumsByCurrency } from '../../src/db/account.repository.js';
import { balanceOf, createAccount, createKey, createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

async function ledgerSumsAreZero(accountId: string): Promise<void> {
  const { org_id: orgId } = await t.server.deps.store.db.selectFrom('accounts').select('org_id').where('id', '=', accountId).executeTakeFirstOrThrow();
  for (const [currency, sum] of await balanceSumsByCurrency(t.server.deps.store, orgId, 'test')) expect(sum, currency).toBe(0n);
}

describe('a refusal from the payer\'s side leaves an open request payable', () => {
  it('an empty account approving an open request is refused 409 insufficient_funds; the request stays pending, the answer shows nothing of it, and the rightful payer then pays', async () => {
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId, { amount: '12.00', metadata: { order: 'secret-42' }, customer: { email: 'buyer@example.com' } });
    const stranger = await createUserWithAccount(t.admin);
    const strangerKey = t.client(await createKey(t.admin, [{ permission: 'payment_requests:pay', accountId: stranger.accountId }]));
    expect((await strangerKey.get(`/v1/payment-requests/${pr.id}`)).status).toBe(404);

    const refused = await strangerKey.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: stranger.accountId });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('insufficient_funds');
    expect(JSON.stringify(refused.body)).not.toMatch(/secret-42|buyer@example\.com/);
    const after = await t.admin.get(`/v1/payment-requests/${pr.id}`);
    expect(after.body).toMatchObject({ status: 'pending', failureReason: null, payer: null });
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data.map((e: { type: string }) => e.type)).toEqual(['payment_request.created']);

    const rightful = await createUserWithAccount(t.admin, 'USD', '20');
    const paid = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: rightful.accountId });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', amountPaid: '12.00', payer: { accountId: rightful.accountId, partyId: rightful.partyId } });
    expect(await balanceOf(t.admin, payee.accountId)).toBe('12.00');
  });

  it('an account in a currency the request does not offer is refused 422 currency_mismatch, and one that is closed 409 account_closed; the open request stays pending', async () => {
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId);
    const euros = await createUserWithAccount(t.admin, 'EUR', '100');
    const wrong = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: euros.accountId });
    expect(wrong.status).toBe(422);
    expect(wrong.body).toMatchObject({ code: 'currency_mismatch', errors: [{ path: 'accountId' }] });
    const closed = await createUserWithAccount(t.admin);
    expect((await t.admin.post(`/v1/accounts/${closed.accountId}/close`)).status).toBe(200);
    const refused = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: closed.accountId });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('account_closed');
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}`)).body.status).toBe('pending');
  });

  it('an account that pays an open request becomes its payer, and so may read what it paid for', async () => {
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId);
    const payer = await createUserWithAccount(t.admin, 'USD', '10');
    const payerKey = t.client(await createKey(t.admin, [{ permission: 'payment_requests:pay', accountId: payer.accountId }]));
    const paid = await payerKey.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', payer: { accountId: payer.accountId } });
    expect((await payerKey.get(`/v1/payment-requests/${pr.id}`)).body.status).toBe('paid');
  });
});

describe('a request that ends partly paid', () => {
  it('cancelled with 4.00 of 10.00 paid: its event says a refund is due, and the payee refunds the 4.00 after the request ended, keeping it cancelled', async () => {
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId, { amount: '10.00' });
    expect((await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '4.00', reference: `part-${pr.id as string}` })).status).toBe(201);
    const cancelled = await t.admin.post(`/v1/payment-requests/${pr.id}/cancel`);
    expect(cancelled.body).toMatchObject({ status: 'cancelled', amountPaid: '4.00' });
    const events = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data as { type: string; data: Record<string, unknown> }[];
    const ending = events.find((e) => e.type === 'payment_request.cancelled');
    expect(ending?.data).toMatchObject({ requiresRefund: true, refundDue: '4.00' });

    const tooMuch = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '4.01' });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.code).toBe('refund_exceeds_paid');
    const refund = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '4.00' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(refund.body.paymentRequest).toMatchObject({ status: 'cancelled', amountPaid: '4.00', amountRefunded: '4.00' });
    expect(await balanceOf(t.admin, payee.accountId)).toBe('0.00');
    await ledgerSumsAreZero(payee.accountId);
  });

  it('declined by its payer after a partial ledger payment: the payer\'s money goes back to the payer\'s account', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '10');
    const pr = await createRequest(t.admin, payee.accountId, { amount: '10.00', payer: { accountId: payer.accountId } });
    // A partial payment from the payer's ledger account, through the internal rail of the dialects (Centrapay's pay).
    const { payFromAccount } = await import('../../src/app/payment-requests/settle.js');
    const principal = { keyId: 'test', orgId: (await t.server.deps.store.db.selectFrom('accounts').select('org_id').where('id', '=', payer.accountId).executeTakeFirstOrThrow()).org_id, mode: 'test' as const, grants: [{ permission: 'admin' as const }] };
    await payFromAccount(t.server.deps, principal, pr.id as string, { accountId: payer.accountId, amount: '3.00' });
    expect(await balanceOf(t.admin, payer.accountId)).toBe('7.00');
    const declined = await t.admin.post(`/v1/payment-requests/${pr.id}/decline`);
    expect(declined.body).toMatchObject({ status: 'declined', amountPaid: '3.00' });
    const ending = ((await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data as { type: string; data: Record<string, unknown> }[]).find((e) => e.type === 'payment_request.declined');
    expect(ending?.data).toMatchObject({ requiresRefund: true, refundDue: '3.00' });
    const refund = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '3.00' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(await balanceOf(t.admin, payer.accountId)).toBe('10.00');
    expect(await balanceOf(t.admin, payee.accountId)).toBe('0.00');
  });

  it('expired with 2.50 of 10.00 paid: the expiry says a refund is due, and the 2.50 can be refunded however long after', async () => {
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId, { amount: '10.00', expiresIn: 60 });
    expect((await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '2.50', reference: `exp-${pr.id as string}` })).status).toBe(201);
    t.clock.advance(61_000);
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}`)).body).toMatchObject({ status: 'expired', amountPaid: '2.50' });
    const ending = ((await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data as { type: string; data: Record<string, unknown> }[]).find((e) => e.type === 'payment_request.expired');
    expect(ending?.data).toMatchObject({ requiresRefund: true, refundDue: '2.50' });
    t.clock.advance(90 * 86_400_000); // far past any refund window
    const refund = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '2.50' });
    expect(refund.status, JSON.stringify(refund.body)).toBe(201);
    expect(refund.body.paymentRequest).toMatchObject({ status: 'expired', amountRefunded: '2.50' });
    expect(await balanceOf(t.admin, payee.accountId)).toBe('0.00');
  });

  it('a request that ends with nothing paid says no refund is due, and a refund of it is refused', async () => {
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId);
    await t.admin.post(`/v1/payment-requests/${pr.id}/cancel`);
    const ending = ((await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data as { type: string; data: Record<string, unknown> }[]).find((e) => e.type === 'payment_request.cancelled');
    expect(ending?.data['requiresRefund']).toBeUndefined();
    const refund = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '0.01' });
    expect(refund.status).toBe(422);
    expect(refund.body.code).toBe('refund_exceeds_paid');
  });
});

describe('closing an account that holds a balance', () => {
  it('is refused 409 account_not_empty without transferTo, and with it moves the whole balance to the party\'s other account before closing', async () => {
    const owner = await createUserWithAccount(t.admin, 'USD', '50');
    const refused = await t.admin.post(`/v1/accounts/${owner.accountId}/close`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'account_not_empty', balance: '50.00' });
    expect((await t.admin.get(`/v1/accounts/${owner.accountId}`)).body).toMatchObject({ status: 'open', balance: '50.00' });

    const stranger = await createUserWithAccount(t.admin);
    const elsewhere = await t.admin.post(`/v1/accounts/${owner.accountId}/close`, { transferTo: stranger.accountId });
    expect(elsewhere.status).toBe(422);
    expect(elsewhere.body.errors[0].path).toBe('transferTo');
    const euros = await createAccount(t.admin, owner.partyId, 'EUR');
    expect((await t.admin.post(`/v1/accounts/${owner.accountId}/close`, { transferTo: euros })).status).toBe(422);
    expect((await t.admin.post(`/v1/accounts/${owner.accountId}/close`, { transferTo: owner.accountId })).status).toBe(422);

    const savings = await createAccount(t.admin, owner.partyId, 'USD');
    const closed = await t.admin.post(`/v1/accounts/${owner.accountId}/close`, { transferTo: savings });
    expect(closed.status, JSON.stringify(closed.body)).toBe(200);
    expect(closed.body).toMatchObject({ status: 'closed', balance: '0.00' });
    expect(await balanceOf(t.admin, savings)).toBe('50.00');
    expect(await balanceOf(t.admin, owner.accountId)).toBe('0.00');
    await ledgerSumsAreZero(savings);
    // Closing it again answers it unchanged.
    expect((await t.admin.post(`/v1/accounts/${owner.accountId}/close`)).body).toMatchObject({ status: 'closed', balance: '0.00' });
  });
});
