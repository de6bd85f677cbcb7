/**
 * The hot merchant account (issue 11): approvals into one payee account run concurrently over
 * real HTTP, and the ledger stays exact — the payee's balance equals the sum of its postings,
 * every payer is debited exactly once, each currency sums to zero. Two accounts paying each
 * other at once (each the other's payee) both settle, never answered with a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceSumsByCurrency } from '../../src/db/account.repository.js';
import { openStore, type Store } from '../../src/db/store.js';
import { balanceOf, createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let store: Store;
beforeAll(async () => {
  t = await startTestServer({ databasePoolSize: 40, logLevel: process.env['DEBUG_LOG'] ?? 'silent' });
  store = openStore({ url: t.database.url, poolSize: 2 });
});
afterAll(async () => {
  await store.close();
  await t.close();
});

async function postings(accountId: string): Promise<bigint[]> {
  const rows = await store.db.selectFrom('ledger_entries').select('amount').where('account_id', '=', accountId).orderBy('id').execute();
  return rows.map((r) => BigInt(r.amount));
}

async function orgIdOf(accountId: string): Promise<string> {
  return (await store.db.selectFrom('accounts').select('org_id').where('id', '=', accountId).executeTakeFirstOrThrow()).org_id;
}

describe('approvals into one payee account', () => {
  it('32 concurrent approvals: the payee balance is the sum of its postings and each payer is debited once', async () => {
    const payee = await createUserWithAccount(t.admin, 'USD', undefined, { username: 'hot-merchant' });
    const payers = await Promise.all(Array.from({ length: 32 }, (_, i) => createUserWithAccount(t.admin, 'USD', '100', { username: `hot-payer-${i}` })));
    const requests = await Promise.all(payers.map((p) => createRequest(t.admin, payee.accountId, { amount: '10.00', payer: { accountId: p.accountId } })));
    const answers = await Promise.all(requests.map((pr, i) => t.admin.post(`/v1/payment-requests/${pr.id as string}/approve`, { accountId: payers[i]?.accountId })));
    expect(answers.map((a) => [a.status, a.body.status])).toEqual(answers.map(() => [200, 'paid']));

    expect(await balanceOf(t.admin, payee.accountId)).toBe('320.00');
    expect((await postings(payee.accountId)).reduce((a, b) => a + b, 0n)).toBe(32_000n);
    expect(await postings(payee.accountId)).toHaveLength(32);
    for (const payer of payers) {
      expect(await balanceOf(t.admin, payer.accountId)).toBe('90.00');
      // Funded once (+100.00), debited once (−10.00).
      expect((await postings(payer.accountId)).sort()).toEqual([-1000n, 10_000n].sort());
    }
    for (const [currency, sum] of await balanceSumsByCurrency(store, await orgIdOf(payee.accountId), 'test')) expect(sum, currency).toBe(0n);
    // Every account's stored balance equals the sum of its postings.
    const accounts = await store.db.selectFrom('accounts').select(['id', 'balance']).execute();
    for (const a of accounts) expect(BigInt(a.balance), a.id).toBe((await postings(a.id)).reduce((x, y) => x + y, 0n));
  });

  it('two accounts paying each other at the same moment both settle (every transfer locks its accounts in one order, at its end)', async () => {
    const a = await createUserWithAccount(t.admin, 'USD', '1000');
    const b = await createUserWithAccount(t.admin, 'USD', '1000');
    const rounds = 12;
    const aPays = await Promise.all(Array.from({ length: rounds }, () => createRequest(t.admin, b.accountId, { amount: '1.00', payer: { accountId: a.accountId } })));
    const bPays = await Promise.all(Array.from({ length: rounds }, () => createRequest(t.admin, a.accountId, { amount: '2.00', payer: { accountId: b.accountId } })));
    const calls = aPays.flatMap((pr, i) => [
      t.admin.post(`/v1/payment-requests/${pr.id as string}/approve`, { accountId: a.accountId }),
      t.admin.post(`/v1/payment-requests/${bPays[i]?.id as string}/approve`, { accountId: b.accountId }),
    ]);
    const answers = await Promise.all(calls);
    expect(answers.map((x) => [x.status, x.body.status])).toEqual(answers.map(() => [200, 'paid']));
    expect(await balanceOf(t.admin, a.accountId)).toBe('1012.00');
    expect(await balanceOf(t.admin, b.accountId)).toBe('988.00');
  });

  it('a payer with funds for one of 8 requests approved at once pays exactly one; the others are refused with insufficient_funds and stay pending, never overdrawn', async () => {
    const payee = await createUserWithAccount(t.admin, 'USD');
    const payer = await createUserWithAccount(t.admin, 'USD', '10.00');
    const requests = await Promise.all(Array.from({ length: 8 }, () => createRequest(t.admin, payee.accountId, { amount: '10.00', payer: { accountId: payer.accountId } })));
    // Each approval checks the balance without a lock; the ones that lose find it spent when
    // their balance write re-checks it at the end, roll back, and answer from a fresh read.
    const answers = await Promise.all(requests.map((pr) => t.admin.post(`/v1/payment-requests/${pr.id as string}/approve`, { accountId: payer.accountId })));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    for (const a of answers) if (a.status === 409) expect(a.body.code).toBe('insufficient_funds');
    expect(answers.filter((a) => a.status === 200).map((a) => a.body.status)).toEqual(['paid']);
    const statuses = await Promise.all(requests.map(async (pr) => (await t.admin.get(`/v1/payment-requests/${pr.id as string}`)).body.status as string));
    expect(statuses.sort()).toEqual(['paid', 'pending', 'pending', 'pending', 'pending', 'pending', 'pending', 'pending']);
    expect(await balanceOf(t.admin, payer.accountId)).toBe('0.00');
    expect(await balanceOf(t.admin, payee.accountId)).toBe('10.00');
    expect((await postings(payer.accountId)).sort()).toEqual([-1000n, 1000n].sort());
  });
});
