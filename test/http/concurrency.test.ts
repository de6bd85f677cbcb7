/**
 * The state machine never lets two actors win (docs/api.md): 50 simultaneous approve,
 * cancel and decline calls on one request, each from its own API key, over real HTTP.
 * Exactly one wins, the payer is debited at most once, every other call gets 409.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, createKey, createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

type Action = 'approve' | 'cancel' | 'decline';
const TARGET: Record<Action, string> = { approve: 'paid', cancel: 'cancelled', decline: 'declined' };

async function race(order: Action[]): Promise<void> {
  const payee = await createUserWithAccount(t.admin);
  const payer = await createUserWithAccount(t.admin, 'USD', '100');
  const pr = await createRequest(t.admin, payee.accountId, { amount: '10', payer: { accountId: payer.accountId } });
  const keys = await Promise.all(order.map((action) =>
    createKey(t.admin, action === 'cancel' ? [{ permission: 'payment_requests:cancel', accountId: payee.accountId }] : [{ permission: 'payment_requests:pay', accountId: payer.accountId }]),
  ));
  const results = await Promise.all(order.map((action, i) =>
    t.client(keys[i] as string).post(`/v1/payment-requests/${pr.id}/${action}`, action === 'approve' ? { accountId: payer.accountId } : undefined),
  ));

  const winners = results.map((r, i) => ({ r, action: order[i] as Action })).filter(({ r }) => r.status === 200);
  expect(winners).toHaveLength(1);
  const winner = winners[0] as { action: Action; r: { body: { status: string } } };
  expect(winner.r.body.status).toBe(TARGET[winner.action]);
  for (const r of results) {
    if (r.status === 200) continue;
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'invalid_transition', currentStatus: TARGET[winner.action] });
  }
  const final = await t.admin.get(`/v1/payment-requests/${pr.id}`);
  expect(final.body.status).toBe(TARGET[winner.action]);
  expect(await balanceOf(t.admin, payer.accountId)).toBe(winner.action === 'approve' ? '90.00' : '100.00');
  const events = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data as { sequence: number; type: string }[];
  expect(events.map((e) => e.sequence)).toEqual(events.map((_, i) => i + 1));
  const terminal = events.filter((e) => ['payment_request.paid', 'payment_request.cancelled', 'payment_request.declined', 'payment_request.failed'].includes(e.type));
  expect(terminal).toHaveLength(1);
}

describe('50 simultaneous commands on one request', () => {
  it('lets exactly one of approve, cancel and decline win (interleaved)', async () => {
    await race(Array.from({ length: 50 }, (_, i) => (['approve', 'cancel', 'decline'] as const)[i % 3] as Action));
  });

  it('lets exactly one win when approvals come first', async () => {
    await race([...Array<Action>(25).fill('approve'), ...Array<Action>(13).fill('cancel'), ...Array<Action>(12).fill('decline')]);
  });

  it('lets exactly one win when cancels come first', async () => {
    await race([...Array<Action>(20).fill('cancel'), ...Array<Action>(30).fill('approve')]);
  });

  it('debits the payer once when one key approves 50 times at once', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '100');
    const pr = await createRequest(t.admin, payee.accountId, { amount: '10', payer: { accountId: payer.accountId } });
    const results = await Promise.all(Array.from({ length: 50 }, () => t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId })));
    // The same key repeating the command that took effect is answered with the request (200).
    for (const r of results) expect(r.body.status).toBe('paid');
    expect(await balanceOf(t.admin, payer.accountId)).toBe('90.00');
    const events = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data as { type: string }[];
    expect(events.filter((e) => e.type === 'payment.received')).toHaveLength(1);
  });
});
