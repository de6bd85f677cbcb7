/**
 * Reorganizations and downtime on a real chain. anvil's `evm_snapshot` / `evm_revert` and
 * re-mining replace blocks the watcher has scanned with others of the same numbers:
 * - a payment log removed before it was `confirmations` deep is never recorded;
 * - one removed after is reverted: `payment.reverted`, no longer counted, and a paid request
 *   goes back to pending (the transition table's `revert_payment`);
 * - a payment made while no Payreq process ran is recorded once after it starts again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../support/chain.js';
import { testDatabase } from '../support/database.js';
import { createRequest } from '../support/factories.js';
import { chainOverrides, createWalletPayee, eventTypes, payDirect, settle, startChainServer, units, waitForStatus } from '../support/evm.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

let chain: TestChain;
let t: TestServer;
const PAYER = 2;
let nextPayee = 10;
beforeAll(async () => {
  chain = await startTestChain();
  t = await startChainServer(chain);
  await chain.fund(PAYER, units('1000000'));
  // A standing allowance, made before any snapshot, so that each payment is one transaction.
  await payDirect(chain, PAYER, { to: chain.address(9), amount: 1n, reference: '0000000000000000' });
});
afterAll(async () => {
  await t?.close();
  await chain?.close();
});

async function walletRequest(server: TestServer, amount: string) {
  const payee = await createWalletPayee(server.admin, chain.address(nextPayee++));
  const pr = await createRequest(server.admin, payee.accountId, { amount, currency: 'TST-private' });
  return { pr, to: pr.paymentOptions[0].address, reference: pr.paymentOptions[0].paymentReference as string };
}

describe('reorgs', () => {
  it('never records a payment whose log a reorg removed before it was confirmed', async () => {
    const { pr, to, reference } = await walletRequest(t, '8');
    const snapshot = await chain.snapshot();
    await payDirect(chain, PAYER, { to, amount: units('8'), reference });
    await chain.mine(1); // 2 confirmations of 3
    // The watcher has seen the log (it is in the scanned range) but not recorded it.
    const logs = () => t.server.deps.store.db.selectFrom('chain_logs').innerJoin('chain_references', 'chain_references.id', 'chain_logs.reference_id').select(['chain_logs.status']).where('chain_references.payment_request_id', '=', pr.id).execute();
    await waitUntil(async () => (await logs()).some((l) => l.status === 'seen'), 10_000, 'the watcher to see the log');
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}`)).body.amountPaid).toBe('0');
    await chain.revert(snapshot);
    await chain.mine(10); // a longer fork without the payment
    await waitUntil(async () => (await logs()).length === 0, 10_000, 'the watcher to drop the removed log');
    await settle(500);
    const after = (await t.admin.get(`/v1/payment-requests/${pr.id}`)).body;
    expect(after.status).toBe('pending');
    expect(after.amountPaid).toBe('0');
    expect(await eventTypes(t.admin, pr.id)).toEqual(['payment_request.created']);
    // The chain moves on and a real payment still pays it.
    await payDirect(chain, PAYER, { to, amount: units('8'), reference });
    await chain.mine(3);
    await waitForStatus(t.admin, pr.id, 'paid');
  });

  it('reverts a recorded payment that a deeper reorg removed: payment.reverted, and paid goes back to pending', async () => {
    const { pr, to, reference } = await walletRequest(t, '9');
    const snapshot = await chain.snapshot();
    await payDirect(chain, PAYER, { to, amount: units('9'), reference });
    await chain.mine(3);
    await waitForStatus(t.admin, pr.id, 'paid');
    await chain.revert(snapshot);
    await chain.mine(12);
    const reopened = await waitForStatus(t.admin, pr.id, 'pending');
    expect(reopened.amountPaid).toBe('0');
    expect(reopened.paidAt).toBeNull();
    expect(await eventTypes(t.admin, pr.id)).toEqual(['payment_request.created', 'payment.received', 'payment_request.paid', 'payment.reverted']);
    const events = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data;
    const reverted = events.find((e: { type: string }) => e.type === 'payment.reverted');
    expect(reverted.data.payment).toMatchObject({ status: 'reverted', rail: 'evm', amount: '9' });
    expect(reverted.data.paymentRequest).toMatchObject({ status: 'pending', amountPaid: '0' });
    // Paying again on the new fork pays it once more.
    await payDirect(chain, PAYER, { to, amount: units('9'), reference });
    await chain.mine(3);
    const paid = await waitForStatus(t.admin, pr.id, 'paid');
    expect(paid.amountPaid).toBe('9');
  });
});

describe('downtime', () => {
  it('records a payment made while Payreq was stopped, exactly once, after it starts again', async () => {
    const database = testDatabase();
    const first = await startTestServer(chainOverrides(chain), { database });
    let second: TestServer | undefined;
    let third: TestServer | undefined;
    try {
      const { pr, to, reference } = await walletRequest(first, '11');
      // Let the watcher scan past the current head, then stop the server.
      const head = await chain.blockNumber();
      await waitUntil(async () => {
        const row = await first.server.deps.store.db.selectFrom('chain_cursors').select('last_scanned').executeTakeFirst();
        return row?.last_scanned !== null && row !== undefined && Number(row.last_scanned) >= head;
      }, 10_000, 'the watcher to reach the head');
      await first.close();

      await payDirect(chain, PAYER, { to, amount: units('11'), reference });
      await chain.mine(5);

      second = await startTestServer(chainOverrides(chain), { database, adminKey: first.adminKey });
      const paid = await waitForStatus(second.admin, pr.id, 'paid');
      expect(paid.amountPaid).toBe('11');
      await second.close();
      second = undefined;

      // A further restart does not record it again.
      third = await startTestServer(chainOverrides(chain), { database, adminKey: first.adminKey });
      await chain.mine(2);
      await settle(1000);
      expect(await eventTypes(third.admin, pr.id)).toEqual(['payment_request.created', 'payment.received', 'payment_request.paid']);
    } finally {
      await second?.close();
      await third?.close();
      await database.drop();
    }
  });
});
