/**
 * The ledger's bounds: no party account holds more than 10^38 − 1 minor units and no transfer
 * moves more, so the org's shared system accounts (the negated sum of many party balances) stay
 * far below PostgreSQL's NUMERIC(78,0). One merchant's key recording huge payments gets 422
 * `amount_too_large`, and every other merchant's payments in that currency still go through.
 * Should PostgreSQL still find a numeric overflow, it answers 422, never 500. Both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceSumsByCurrency } from '../../src/db/account.repository.js';
import { isDomainError } from '../../src/domain/errors.js';
import { formatAmount, MAX_LEDGER_AMOUNT, MAX_MINOR_UNITS } from '../../src/domain/money.js';
import { normalizeError } from '../../src/http/errors.js';
import pg from 'pg';
import { balanceOf, createAccount, createKey, createMerchant, createRequest } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

async function merchant(name: string) {
  const partyId = await createMerchant(t.admin, name);
  const accountId = await createAccount(t.admin, partyId, 'USD');
  const key = t.client(await createKey(t.admin, [{ permission: 'payment_requests:create', partyId }, { permission: 'payments:record', partyId }]));
  return { partyId, accountId, key };
}

async function record(api: ReturnType<typeof t.client>, payeeAccountId: string, amount: string) {
  const pr = await createRequest(api, payeeAccountId, { amount: '1.00' });
  return api.post(`/v1/payment-requests/${pr.id}/payments`, { amount, reference: `ref-${pr.id as string}` });
}

describe('a merchant-scoped key recording the largest payments', () => {
  it('is refused 422 amount_too_large past 10^38 - 1 minor units, and another merchant\'s external payments in the currency keep answering 201', async () => {
    const mallory = await merchant('Mallory Ltd');
    const honest = await merchant('Honest Co');
    const uint256 = formatAmount(MAX_MINOR_UNITS, 2);
    for (let i = 0; i < 9; i++) {
      const res = await record(mallory.key, mallory.accountId, uint256);
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.code).toBe('amount_too_large');
    }
    expect(await balanceOf(t.admin, mallory.accountId)).toBe('0.00');
    const ok = await record(honest.key, honest.accountId, '25.00');
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);

    // The largest a party account may hold lands once; anything more into it is refused.
    const largest = formatAmount(MAX_LEDGER_AMOUNT, 2);
    expect((await record(mallory.key, mallory.accountId, largest)).status).toBe(201);
    expect(await balanceOf(t.admin, mallory.accountId)).toBe(largest);
    const more = await record(mallory.key, mallory.accountId, '0.01');
    expect(more.status).toBe(422);
    expect(more.body).toMatchObject({ code: 'amount_too_large', limit: MAX_LEDGER_AMOUNT.toString() });
    expect((await record(honest.key, honest.accountId, '25.00')).status).toBe(201);
    expect(await balanceOf(t.admin, honest.accountId)).toBe('50.00');

    const { org_id: orgId } = await t.server.deps.store.db.selectFrom('accounts').select('org_id').where('id', '=', honest.accountId).executeTakeFirstOrThrow();
    for (const [currency, sum] of await balanceSumsByCurrency(t.server.deps.store, orgId, 'test')) expect(sum, currency).toBe(0n);
  });
});

describe('a numeric overflow in the database', () => {
  it('is answered as amount_too_large (422), not as an internal error', async () => {
    // PostgreSQL's own error (SQLite stores amounts as text, where nothing overflows), on both runs.
    const client = new pg.Client({ connectionString: process.env['PAYREQ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test' });
    await client.connect();
    try {
      const err = await client.query(`select '1${'0'.repeat(80)}'::numeric(78, 0) as n`).then(() => undefined, (e: unknown) => e);
      expect((err as { code?: string }).code).toBe('22003');
      expect(isDomainError(normalizeError(err), 'amount_too_large')).toBe(true);
    } finally {
      await client.end();
    }
  });
});
