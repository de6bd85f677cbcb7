/**
 * Expiry (docs/api.md): a pending request past `expiresAt` reads as expired at once; the
 * sweeper persists the transition and its event; nothing else can happen to it afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ expirySweepIntervalMs: 3_600_000 });
});
afterAll(() => t.close());

async function storedStatusIn(server: TestServer, id: string): Promise<string | undefined> {
  const row = await server.server.deps.store.db.selectFrom('payment_requests').select('status').where('id', '=', id).executeTakeFirst();
  return row?.status;
}

function storedStatus(id: string): Promise<string | undefined> {
  return storedStatusIn(t, id);
}

describe('expiry', () => {
  it('reads as expired at once in a list, and persists expired with its event on a get', async () => {
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId, { expiresIn: 60 });
    t.clock.advance(60_001);
    const listed = await t.admin.get(`/v1/payment-requests?payeeAccountId=${payee.accountId}`);
    expect(listed.body.data[0]).toMatchObject({ id: pr.id, status: 'expired' });
    expect((await t.admin.get(`/v1/payment-requests?payeeAccountId=${payee.accountId}&status=pending`)).body.data).toEqual([]);
    expect((await t.admin.get(`/v1/payment-requests?payeeAccountId=${payee.accountId}&status=expired`)).body.data.map((r: { id: string }) => r.id)).toEqual([pr.id]);
    expect(await storedStatus(pr.id)).toBe('pending');

    const got = await t.admin.get(`/v1/payment-requests/${pr.id}`);
    expect(got.body.status).toBe('expired');
    expect(await storedStatus(pr.id)).toBe('expired');
    const events = await t.admin.get(`/v1/payment-requests/${pr.id}/events`);
    expect(events.body.data.map((e: { type: string }) => e.type)).toEqual(['payment_request.created', 'payment_request.expired']);
  });

  it('refuses approve, cancel and decline on a due request with invalid_transition and persists the expiry', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '100');
    const pr = await createRequest(t.admin, payee.accountId, { expiresIn: 60, payer: { accountId: payer.accountId } });
    t.clock.advance(61_000);
    for (const [action, body] of [['approve', { accountId: payer.accountId }], ['cancel', undefined], ['decline', undefined]] as const) {
      const res = await t.admin.post(`/v1/payment-requests/${pr.id}/${action}`, body);
      expect(res.status, action).toBe(409);
      expect(res.body).toMatchObject({ code: 'invalid_transition', currentStatus: 'expired' });
    }
    expect(await storedStatus(pr.id)).toBe('expired');
    const events = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data;
    expect(events.filter((e: { type: string }) => e.type === 'payment_request.expired')).toHaveLength(1);
    expect((await t.admin.get(`/v1/accounts/${payer.accountId}`)).body.balance).toBe('100.00');
  });

  it('the sweeper expires due requests in the background, each once with one event', async () => {
    const payee = await createUserWithAccount(t.admin);
    const due = [];
    for (let i = 0; i < 5; i++) due.push((await createRequest(t.admin, payee.accountId, { expiresIn: 60 })).id);
    const notDue = (await createRequest(t.admin, payee.accountId, { expiresIn: 3600 })).id;
    t.clock.advance(120_000);
    const { expireDuePaymentRequests } = await import('../../src/app/payment-requests/expiry.js');
    expect(await expireDuePaymentRequests(t.server.deps, 500)).toBeGreaterThanOrEqual(5);
    expect(await expireDuePaymentRequests(t.server.deps, 500)).toBe(0);
    for (const id of due) expect(await storedStatus(id)).toBe('expired');
    expect(await storedStatus(notDue)).toBe('pending');
    const expiredEvents = await t.server.deps.store.db.selectFrom('events').select('payment_request_id').where('type', '=', 'payment_request.expired').where('payment_request_id', 'in', due).execute();
    expect(expiredEvents).toHaveLength(5);
  });
});

describe('the background sweeper loop', () => {
  it('runs on its interval inside the server', async () => {
    const s = await (await import('../support/server.js')).startTestServer({ expirySweepIntervalMs: 20 });
    try {
      const payee = await createUserWithAccount(s.admin);
      const pr = await createRequest(s.admin, payee.accountId, { expiresIn: 60 });
      s.clock.advance(61_000);
      await waitUntil(async () => (await storedStatusIn(s, pr.id)) === 'expired', 5000, 'the sweeper expiring the request');
      expect(await storedStatusIn(s, pr.id)).toBe('expired');
    } finally {
      await s.close();
    }
  });
});
