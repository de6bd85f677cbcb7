/**
 * Recording a payment is minting: `payments:record` credits the payee with money the caller
 * says arrived. With `PAYREQ_HOLD_RECORDED_PAYMENTS` an org keeps such money unspendable until a
 * key with `payments:confirm` confirms it. Over real HTTP, on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, createAccount, createKey, createMerchant, createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ holdRecordedPayments: 'all' });
});
afterAll(() => t.close());

async function merchant() {
  const partyId = await createMerchant(t.admin, 'Held Goods');
  const accountId = await createAccount(t.admin, partyId, 'USD');
  const recorder = t.client(await createKey(t.admin, [{ permission: 'payment_requests:create', partyId }, { permission: 'payments:record', partyId }, { permission: 'payment_requests:pay', partyId }]));
  const confirmer = t.client(await createKey(t.admin, [{ permission: 'payments:confirm', partyId }]));
  return { partyId, accountId, recorder, confirmer };
}

describe('recorded payments held until confirmed', () => {
  it('a merchant\'s recorded payment moves nothing and cannot be spent; its own key cannot confirm it; a payments:confirm key applies it once', async () => {
    const m = await merchant();
    const pr = await createRequest(m.recorder, m.accountId, { amount: '10.00' });
    const recorded = await m.recorder.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '10.00', reference: `held-${pr.id as string}` });
    expect(recorded.status, JSON.stringify(recorded.body)).toBe(201);
    expect(recorded.body).toMatchObject({ status: 'held', appliedAmount: '0.00', paymentRequest: { status: 'pending', amountPaid: '0.00' } });
    expect(await balanceOf(t.admin, m.accountId)).toBe('0.00');
    // A repeat answers the held payment.
    expect((await m.recorder.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '10.00', reference: `held-${pr.id as string}` })).body).toMatchObject({ id: recorded.body.id, status: 'held' });

    // The merchant cannot spend what it recorded.
    const shop = await createUserWithAccount(t.admin);
    const spend = await createRequest(t.admin, shop.accountId, { amount: '10.00', payer: { accountId: m.accountId } });
    const spent = await m.recorder.post(`/v1/payment-requests/${spend.id}/approve`, { accountId: m.accountId });
    expect(spent.status).toBe(409);
    expect(spent.body.code).toBe('insufficient_funds');

    const selfConfirm = await m.recorder.post(`/v1/payment-requests/${pr.id}/payments/confirm`, { reference: `held-${pr.id as string}` });
    expect(selfConfirm.status).toBe(403);
    const confirmed = await m.confirmer.post(`/v1/payment-requests/${pr.id}/payments/confirm`, { reference: `held-${pr.id as string}` });
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toMatchObject({ id: recorded.body.id, status: 'applied', appliedAmount: '10.00', paymentRequest: { status: 'paid', amountPaid: '10.00' } });
    expect(await balanceOf(t.admin, m.accountId)).toBe('10.00');
    const again = await m.confirmer.post(`/v1/payment-requests/${pr.id}/payments/confirm`, { reference: `held-${pr.id as string}` });
    expect(again.body).toMatchObject({ status: 'applied' });
    expect(await balanceOf(t.admin, m.accountId)).toBe('10.00');
    const unknown = await m.confirmer.post(`/v1/payment-requests/${pr.id}/payments/confirm`, { reference: 'never-recorded' });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].path).toBe('reference');
  });

  it('a held payment confirmed after its request was cancelled is flagged requires_refund and moves nothing', async () => {
    const m = await merchant();
    const pr = await createRequest(m.recorder, m.accountId, { amount: '10.00' });
    expect((await m.recorder.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '4.00', reference: `late-${pr.id as string}` })).status).toBe(201);
    expect((await t.admin.post(`/v1/payment-requests/${pr.id}/cancel`)).body.status).toBe('cancelled');
    const confirmed = await m.confirmer.post(`/v1/payment-requests/${pr.id}/payments/confirm`, { reference: `late-${pr.id as string}` });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body).toMatchObject({ status: 'requires_refund', paymentRequest: { status: 'cancelled', amountPaid: '0.00' } });
    expect(await balanceOf(t.admin, m.accountId)).toBe('0.00');
  });
});
