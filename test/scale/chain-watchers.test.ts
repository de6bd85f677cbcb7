/**
 * Two `payreq serve` processes on one PostgreSQL database watching one chain (anvil): only the
 * holder of the chain's lease scans, every payment is recorded exactly once, and when the
 * holder is killed the other takes the lease over and records what came after.
 */
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { startTestChain, type TestChain } from '../support/chain.js';
import { createRequest } from '../support/factories.js';
import { createWalletPayee, payDirect, units } from '../support/evm.js';
import { waitUntil } from '../support/wait.js';
import { type Cluster, checkInvariants, startCluster } from './cluster.js';

let chain: TestChain;
let cluster: Cluster;
const PAYER = 2;
beforeAll(async () => {
  chain = await startTestChain();
  await chain.fund(PAYER, units('1000000'));
  const tokenList = join(tmpdir(), `payreq-tokens-${process.pid}-${Date.now()}.json`);
  writeFileSync(tokenList, JSON.stringify([...loadConfig({}).tokens, ...chain.tokens]));
  cluster = await startCluster(2, {
    PAYREQ_CHAINS: JSON.stringify([chain.chainConfig({ pollIntervalMs: 100 })]),
    PAYREQ_TOKEN_LIST: tokenList,
  });
});
afterAll(async () => {
  await cluster?.close();
  await chain?.close();
});

async function payRequests(from: number, n: number): Promise<string[]> {
  const admin = cluster.nodes[0]!.admin;
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const payee = await createWalletPayee(admin, chain.address(from + i));
    const pr = await createRequest(admin, payee.accountId, { amount: `${i + 1}`, currency: 'TST-private' });
    await payDirect(chain, PAYER, { to: pr.paymentOptions[0].address, amount: units(`${i + 1}`), reference: pr.paymentOptions[0].paymentReference });
    ids.push(pr.id);
  }
  await chain.mine(3);
  return ids;
}

async function expectPaidOnce(ids: string[], via: number): Promise<void> {
  const admin = cluster.nodes[via]!.admin;
  await waitUntil(async () => {
    const statuses = await Promise.all(ids.map(async (id) => (await admin.get(`/v1/payment-requests/${id}`)).body.status));
    return statuses.every((s) => s === 'paid');
  }, 30_000, 'every request to be paid');
  for (const id of ids) {
    const types = ((await admin.get(`/v1/payment-requests/${id}/events`)).body.data as { type: string }[]).map((e) => e.type);
    expect(types).toEqual(['payment_request.created', 'payment.received', 'payment_request.paid']);
  }
}

it('records each payment once with two processes watching, and after the lease holder is killed', async () => {
  const first = await payRequests(10, 6);
  await expectPaidOnce(first, 1);
  const leaseHolder = async () => (await cluster.store.db.selectFrom('chain_cursors').select(['lease_holder']).executeTakeFirstOrThrow()).lease_holder ?? '';
  const holderPid = Number(/^watcher_(\d+)_/.exec(await leaseHolder())?.[1]);
  const holderIndex = cluster.nodes.findIndex((n) => n.proc.child.pid === holderPid);
  expect(holderIndex).toBeGreaterThanOrEqual(0);

  // Kill the lease holder mid-watch: the other process takes the lease over once it expires.
  const holder = cluster.nodes[holderIndex]!;
  const survivor = cluster.nodes[1 - holderIndex]!;
  holder.proc.child.kill('SIGKILL');
  await holder.proc.exited;
  const admin = survivor.admin;
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const payee = await createWalletPayee(admin, chain.address(30 + i));
    const pr = await createRequest(admin, payee.accountId, { amount: '2', currency: 'TST-private' });
    await payDirect(chain, PAYER, { to: pr.paymentOptions[0].address, amount: units('2'), reference: pr.paymentOptions[0].paymentReference });
    ids.push(pr.id);
  }
  await chain.mine(3);
  await expectPaidOnce(ids, 1 - holderIndex);
  expect(await leaseHolder()).toMatch(new RegExp(`^watcher_${survivor.proc.child.pid}_`));

  const payments = await cluster.store.db.selectFrom('payments').select(['reference']).where('rail', '=', 'evm').execute();
  expect(payments).toHaveLength(10);
  const logs = await cluster.store.db.selectFrom('chain_logs').select(['status']).execute();
  expect(logs.filter((l) => l.status === 'recorded')).toHaveLength(10);
  await checkInvariants(cluster.store);
});
