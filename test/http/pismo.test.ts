/**
 * Pismo's peer-to-peer flow in canonical form (https://developers.pismo.io/pismo-docs/reference/post-payments-v1-payment-requests): a request
 * to an account with an amount, an expiration and a message; the receiver pays it from
 * their balance; both sides list it by account (`to` / `from`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('Pismo peer-to-peer request', () => {
  it('creates a request with a code, is paid from the payer balance, and lists both ways', async () => {
    const sender = await createUserWithAccount(t.admin, 'USD'); // asks for money
    const receiver = await createUserWithAccount(t.admin, 'USD', '100.00'); // pays
    const expiration = new Date(t.clock.now() + 7 * 86_400_000).toISOString();
    const pr = await createRequest(t.admin, sender.accountId, {
      amount: '25.50',
      payer: { accountId: receiver.accountId },
      expiresAt: expiration,
      metadata: { message: "David's birthday present" },
    });
    expect(pr).toMatchObject({ status: 'pending', amount: '25.50', currency: 'USD', metadata: { message: "David's birthday present" }, expiresAt: expiration });
    expect(pr.code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);

    const byCode = await t.admin.get(`/v1/payment-requests?code=${pr.code}`);
    expect(byCode.body.data.map((r: { id: string }) => r.id)).toEqual([pr.id]);

    const paid = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: receiver.accountId });
    expect(paid.status).toBe(200);
    expect(paid.body).toMatchObject({ status: 'paid', amountPaid: '25.50' });
    expect(await balanceOf(t.admin, receiver.accountId)).toBe('74.50');
    expect(await balanceOf(t.admin, sender.accountId)).toBe('25.50');

    const to = await t.admin.get(`/v1/payment-requests?payeeAccountId=${sender.accountId}`);
    expect(to.body.data.map((r: { id: string }) => r.id)).toEqual([pr.id]);
    const from = await t.admin.get(`/v1/parties/${receiver.partyId}/payment-requests?direction=incoming`);
    expect(from.body.data.map((r: { id: string; status: string }) => [r.id, r.status])).toEqual([[pr.id, 'paid']]);

    const events = await t.admin.get(`/v1/payment-requests/${pr.id}/events`);
    expect(events.body.data.map((e: { type: string; sequence: number }) => [e.sequence, e.type])).toEqual([
      [1, 'payment_request.created'],
      [2, 'payment_request.processing'],
      [3, 'payment.received'],
      [4, 'payment_request.paid'],
    ]);
    expect(events.body.data[3].data.paymentRequest.status).toBe('paid');
    expect(events.body.data[2].data.payment).toMatchObject({ rail: 'ledger', amount: '25.50', payerAccountId: receiver.accountId });
  });

  it('declines: the receiver refuses and cannot pay afterwards', async () => {
    const sender = await createUserWithAccount(t.admin);
    const receiver = await createUserWithAccount(t.admin, 'USD', '50');
    const pr = await createRequest(t.admin, sender.accountId, { payer: { partyId: receiver.partyId } });
    const declined = await t.admin.post(`/v1/payment-requests/${pr.id}/decline`);
    expect(declined.body.status).toBe('declined');
    const pay = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: receiver.accountId });
    expect(pay.status).toBe(409);
    expect(pay.body).toMatchObject({ code: 'invalid_transition', currentStatus: 'declined' });
    expect(await balanceOf(t.admin, receiver.accountId)).toBe('50.00');
  });
});
