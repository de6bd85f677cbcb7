/**
 * The EVM rail on a real local chain (anvil) with Request Network's contracts deployed from
 * their published bytecode: the transactions from `/pay`, signed and sent by viem wallets,
 * settle payment requests only once `confirmations` deep; calldata is checked by decoding it
 * with viem against the contracts' own ABI.
 */
import { decodeFunctionData, encodeFunctionData, type Hex, maxUint256 } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factory, startTestChain, type TestChain } from '../support/chain.js';
import { createRequest, createUser } from '../support/factories.js';
import { createWalletPayee, eventTypes, payDirect, payOnChain, settle, startChainServer, units, waitForStatus } from '../support/evm.js';
import type { TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

let chain: TestChain;
let t: TestServer;
const PAYER = 2;
beforeAll(async () => {
  chain = await startTestChain();
  t = await startChainServer(chain);
  await chain.fund(PAYER, units('1000000'));
  await chain.fund(5, units('1000000'));
  await chain.fund(PAYER, units('1000'), chain.otherToken);
});
afterAll(async () => {
  await t?.close();
  await chain?.close();
});

const proxyAbi = () => factory('ERC20FeeProxy__factory.js', 'ERC20FeeProxy').abi;
const tokenAbi = () => factory('TestERC20.sol/TestERC20__factory.js', 'TestERC20').abi;


/** A wallet account for a fresh address index's payee (each test its own address, so balances do not mix). */
let nextPayee = 10;
async function payee(currency = 'TST-private') {
  const index = nextPayee++;
  const account = await createWalletPayee(t.admin, chain.address(index), currency);
  return { ...account, index, address: chain.address(index) };
}

async function balanceOf(token: Hex, address: Hex): Promise<bigint> {
  return (await chain.client.readContract({ address: token, abi: tokenAbi(), functionName: 'balanceOf', args: [address] })) as bigint;
}

describe('paying with the transactions from /pay', () => {
  it('approves then pays; the request is paid only once the log is `confirmations` deep', async () => {
    const p = await payee();
    const pr = await createRequest(t.admin, p.accountId, { amount: '25.5', currency: 'TST-private' });
    const option = pr.paymentOptions[0];
    expect(option).toMatchObject({ currency: 'TST-private', network: 'private', chainId: 31337, address: p.address, tokenAddress: chain.token });
    expect(option.paymentReference).toMatch(/^0x[0-9a-f]{16}$/);
    expect(option.proxyAddress.toLowerCase()).toBe(chain.erc20FeeProxy.toLowerCase());
    // The option's address is stored with the request: a later read shows the same details.
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}`)).body.paymentOptions[0]).toEqual(option);
    expect(option.uri).toBe(`ethereum:${option.proxyAddress}@31337/transferFromWithReferenceAndFee?address=${chain.token}&address=${p.address}&uint256=${units('25.5')}&bytes=${option.paymentReference}&uint256=0&address=0x0000000000000000000000000000000000000000`);

    // A fresh wallet has no allowance: approve first, then pay.
    const params = new URLSearchParams({ wallet: chain.address(6) });
    await chain.fund(6, units('100'));
    const res = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?${params.toString()}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.metadata).toEqual({ stepsRequired: 2, needsApproval: true, approvalTransactionIndex: 0, paymentTransactionIndex: 1, hasEnoughBalance: true, hasEnoughGas: true });
    const [approve, payment] = res.body.transactions as { to: Hex; data: Hex; value: string }[];
    expect(approve?.to).toBe(chain.token);
    expect(approve?.data.slice(0, 10)).toBe('0x095ea7b3');
    const approveCall = decodeFunctionData({ abi: tokenAbi(), data: approve?.data as Hex });
    expect(approveCall.args).toEqual([expect.stringMatching(new RegExp(chain.erc20FeeProxy, 'i')), 2n ** 256n - 1n]);
    expect(payment?.data.slice(0, 10)).toBe('0xc219a14d');
    const call = decodeFunctionData({ abi: proxyAbi(), data: payment?.data as Hex });
    expect(call.functionName).toBe('transferFromWithReferenceAndFee');
    expect(call.args).toEqual([chain.token, p.address, units('25.5'), option.paymentReference, 0n, '0x0000000000000000000000000000000000000000']);

    const before = await balanceOf(chain.token, p.address);
    for (const tx of [approve, payment]) await chain.send(6, { to: tx!.to, data: tx!.data, value: BigInt(tx!.value) });
    expect(await balanceOf(chain.token, p.address)).toBe(before + units('25.5'));

    // The payment's block has 1 confirmation; one more block makes 2, still short of 3.
    await chain.mine(1);
    await settle();
    const pending = (await t.admin.get(`/v1/payment-requests/${pr.id}`)).body;
    expect(pending.status).toBe('pending');
    expect(pending.amountPaid).toBe('0');

    await chain.mine(1);
    const paid = await waitForStatus(t.admin, pr.id, 'paid');
    expect(paid.amountPaid).toBe('25.5');
    expect(await eventTypes(t.admin, pr.id)).toEqual(['payment_request.created', 'payment.received', 'payment_request.paid']);
    const events = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data;
    const received = events.find((e: { type: string }) => e.type === 'payment.received').data.payment;
    expect(received).toMatchObject({
      rail: 'evm', network: 'private', chainId: 31337, amount: '25.5', currency: 'TST-private', status: 'applied',
      from: chain.address(6).toLowerCase(), to: p.address.toLowerCase(), tokenAddress: chain.token.toLowerCase(), feeAmount: '0',
    });
    expect(received.txHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(typeof received.logIndex).toBe('number');
    expect(typeof received.blockNumber).toBe('number');
  });

  it('returns one transaction when the allowance already covers amount + fee, and pays the fee', async () => {
    const p = await payee();
    const pr = await createRequest(t.admin, p.accountId, { amount: '10', currency: 'TST-private' });
    await payOnChain(t.admin, chain, pr.id, PAYER, { amount: '1' }); // leaves PAYER with a max allowance
    const fee = chain.address(7);
    const res = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?${new URLSearchParams({ wallet: chain.address(PAYER), amount: '9', feeAmount: '0.5', feeAddress: fee }).toString()}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.transactions).toHaveLength(1);
    expect(res.body.metadata).toMatchObject({ stepsRequired: 1, needsApproval: false, approvalTransactionIndex: null, paymentTransactionIndex: 0 });
    expect(res.body.payment).toMatchObject({ amount: '9', feeAmount: '0.5' });
    const call = decodeFunctionData({ abi: proxyAbi(), data: res.body.transactions[0].data });
    expect(call.args).toEqual([chain.token, p.address, units('9'), `0x${pr.paymentOptions[0].paymentReference.slice(2)}`, units('0.5'), fee]);
    const feeBefore = await balanceOf(chain.token, fee);
    await chain.send(PAYER, { to: res.body.transactions[0].to, data: res.body.transactions[0].data });
    expect(await balanceOf(chain.token, fee)).toBe(feeBefore + units('0.5'));
    await chain.mine(3);
    const paid = await waitForStatus(t.admin, pr.id, 'paid');
    expect(paid.amountPaid).toBe('10');
  });

  it('pays in the native currency through EthereumFeeProxy with value', async () => {
    const p = await payee('ETH-private');
    const pr = await createRequest(t.admin, p.accountId, { amount: '0.25', currency: 'ETH-private' });
    expect(pr.paymentOptions[0].proxyAddress.toLowerCase()).toBe(chain.ethFeeProxy.toLowerCase());
    const res = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?wallet=${chain.address(PAYER)}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.transactions).toHaveLength(1);
    expect(res.body.transactions[0].value).toBe(units('0.25').toString());
    expect(res.body.transactions[0].data.slice(0, 10)).toBe('0xb868980b');
    const call = decodeFunctionData({ abi: factory('EthereumFeeProxy__factory.js', 'EthereumFeeProxy').abi, data: res.body.transactions[0].data });
    expect(call.args).toEqual([p.address, pr.paymentOptions[0].paymentReference, 0n, '0x0000000000000000000000000000000000000000']);
    const before = await chain.client.getBalance({ address: p.address });
    await chain.send(PAYER, { to: res.body.transactions[0].to, data: res.body.transactions[0].data, value: BigInt(res.body.transactions[0].value) });
    expect(await chain.client.getBalance({ address: p.address })).toBe(before + units('0.25'));
    await chain.mine(3);
    const paid = await waitForStatus(t.admin, pr.id, 'paid');
    const events = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data;
    expect(events.find((e: { type: string }) => e.type === 'payment.received').data.payment).toMatchObject({ rail: 'evm', amount: '0.25', currency: 'ETH-private', tokenAddress: '0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee' });
    expect(paid.amountPaid).toBe('0.25');
  });

  it('pays a USD invoice in a token option at its quoted rate, to the payee party\'s wallet', async () => {
    const party = await createUser(t.admin);
    const usd = (await t.admin.post('/v1/accounts', { partyId: party, currency: 'USD' })).body.id;
    const wallet = chain.address(20);
    expect((await t.admin.post('/v1/accounts', { partyId: party, currency: 'TST-private', address: wallet.toLowerCase() })).status).toBe(201);
    const pr = await createRequest(t.admin, usd, { amount: '12.34', currency: 'USD', paymentOptions: [{ currency: 'TST-private' }] });
    expect(pr.paymentOptions[0]).toMatchObject({ currency: 'USD', chainId: null, paymentReference: null });
    expect(pr.paymentOptions[1]).toMatchObject({ currency: 'TST-private', amount: '12.34', address: wallet, chainId: 31337 });
    expect(pr.paymentReference).toBe(pr.paymentOptions[1].paymentReference.slice(2));
    await payOnChain(t.admin, chain, pr.id, PAYER, { currency: 'TST-private' });
    await chain.mine(3);
    const paid = await waitForStatus(t.admin, pr.id, 'paid');
    expect(paid.amountPaid).toBe('12.34');
    // Nothing was credited to the USD ledger account: the tokens went to the payee's own address.
    expect((await t.admin.get(`/v1/accounts/${usd}`)).body.balance).toBe('0.00');
  });
});

describe('money rules on chain', () => {
  it('accumulates partial payments and pays the request when the rest arrives', async () => {
    const p = await payee();
    const pr = await createRequest(t.admin, p.accountId, { amount: '30', currency: 'TST-private' });
    await payOnChain(t.admin, chain, pr.id, PAYER, { amount: '10' });
    await chain.mine(3);
    await waitUntil(async () => (await t.admin.get(`/v1/payment-requests/${pr.id}`)).body.amountPaid === '10', 15_000, 'partial payment');
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}`)).body.status).toBe('pending');
    const rest = await payOnChain(t.admin, chain, pr.id, PAYER);
    expect(rest.pay.payment.amount).toBe('20');
    await chain.mine(3);
    const paid = await waitForStatus(t.admin, pr.id, 'paid');
    expect(paid.amountPaid).toBe('30');
    expect(await eventTypes(t.admin, pr.id)).toEqual(['payment_request.created', 'payment.received', 'payment.received', 'payment_request.paid']);
  });

  it('refuses a pay amount above what is owed, a bad wallet, and a fee without its address', async () => {
    const p = await payee();
    const pr = await createRequest(t.admin, p.accountId, { amount: '5', currency: 'TST-private' });
    const over = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?wallet=${chain.address(PAYER)}&amount=5.1`);
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('invalid_amount');
    const bad = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?wallet=0x1234`);
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: 'invalid_address', errors: [{ path: 'wallet' }] });
    const fee = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?wallet=${chain.address(PAYER)}&feeAmount=1`);
    expect(fee.status).toBe(422);
    const fiat = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?wallet=${chain.address(PAYER)}&currency=USDC-mainnet`);
    expect(fiat.status).toBe(422);
    expect(fiat.body.code).toBe('chain_not_configured');
  });

  it('records an over-payment in full', async () => {
    const p = await payee();
    const pr = await createRequest(t.admin, p.accountId, { amount: '4', currency: 'TST-private' });
    await payDirect(chain, PAYER, { to: p.address, amount: units('6'), reference: pr.paymentOptions[0].paymentReference });
    await chain.mine(3);
    const paid = await waitForStatus(t.admin, pr.id, 'paid');
    expect(paid.amountPaid).toBe('6');
  });

  it('records a payment after expiry, flagged for refund, without reopening the request', async () => {
    const p = await payee();
    const pr = await createRequest(t.admin, p.accountId, { amount: '3', currency: 'TST-private', expiresIn: 60 });
    t.clock.advance(61_000);
    try {
      const refused = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?wallet=${chain.address(PAYER)}`);
      expect(refused.status).toBe(409);
      expect(refused.body.code).toBe('not_payable_on_chain');
      await payDirect(chain, PAYER, { to: p.address, amount: units('3'), reference: pr.paymentOptions[0].paymentReference });
      await chain.mine(3);
      await waitUntil(async () => (await eventTypes(t.admin, pr.id)).includes('payment.received'), 15_000, 'the late payment to be recorded');
    } finally {
      t.clock.advance(-61_000);
    }
    const after = (await t.admin.get(`/v1/payment-requests/${pr.id}`)).body;
    expect(after.status).toBe('expired');
    expect(after.amountPaid).toBe('0');
    const events = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data;
    const received = events.find((e: { type: string }) => e.type === 'payment.received');
    expect(received.data.requiresRefund).toBe(true);
    expect(received.data.payment).toMatchObject({ status: 'requires_refund', rail: 'evm', amount: '3', appliedAmount: '0' });
  });

  it('ignores a transfer of another token, or to another address, that carries the right reference', async () => {
    const p = await payee();
    const pr = await createRequest(t.admin, p.accountId, { amount: '2', currency: 'TST-private' });
    const reference = pr.paymentOptions[0].paymentReference;
    await payDirect(chain, PAYER, { token: chain.otherToken, to: p.address, amount: units('2'), reference });
    await payDirect(chain, PAYER, { to: chain.address(21), amount: units('2'), reference });
    await chain.mine(5);
    await settle(1000);
    const after = (await t.admin.get(`/v1/payment-requests/${pr.id}`)).body;
    expect(after.status).toBe('pending');
    expect(after.amountPaid).toBe('0');
    expect(await eventTypes(t.admin, pr.id)).toEqual(['payment_request.created']);
    // The right token to the right address still pays it.
    await payDirect(chain, PAYER, { to: p.address, amount: units('2'), reference });
    await chain.mine(3);
    await waitForStatus(t.admin, pr.id, 'paid');
  });

  it('records two logs of one transaction, each once', async () => {
    const p = await payee();
    const pr = await createRequest(t.admin, p.accountId, { amount: '7', currency: 'TST-private' });
    const reference = pr.paymentOptions[0].paymentReference as Hex;
    const batch = factory('BatchPayments__factory.js', 'BatchPayments');
    await chain.send(5, { to: chain.batchPayments, data: encodeFunctionData({ abi: batch.abi, functionName: 'approvePaymentProxyToSpend', args: [chain.token] }) });
    await chain.send(5, { to: chain.token, data: encodeFunctionData({ abi: tokenAbi(), functionName: 'approve', args: [chain.batchPayments, maxUint256] }) });
    const hash = await chain.send(5, {
      to: chain.batchPayments,
      data: encodeFunctionData({ abi: batch.abi, functionName: 'batchERC20PaymentsWithReference', args: [chain.token, [p.address, p.address], [units('3'), units('4')], [reference, reference], [0n, 0n], chain.address(7)] }),
    });
    const receipt = await chain.client.getTransactionReceipt({ hash });
    expect(receipt.logs.filter((l) => l.address.toLowerCase() === chain.erc20FeeProxy.toLowerCase())).toHaveLength(2);
    await chain.mine(3);
    const paid = await waitForStatus(t.admin, pr.id, 'paid');
    expect(paid.amountPaid).toBe('7');
    expect(await eventTypes(t.admin, pr.id)).toEqual(['payment_request.created', 'payment.received', 'payment.received', 'payment_request.paid']);
    await settle();
    expect((await eventTypes(t.admin, pr.id)).length).toBe(4);
  });
});

describe('wallet accounts', () => {
  it('stores the address checksummed, shows no custodial balance, and refuses ledger use', async () => {
    const party = await createUser(t.admin);
    const res = await t.admin.post('/v1/accounts', { partyId: party, currency: 'TST-private', address: chain.address(30).toLowerCase() });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ type: 'wallet', address: chain.address(30), network: 'private', balance: null });
    const fund = await t.admin.post(`/v1/test-helpers/accounts/${res.body.id}/fund`, { amount: '1' });
    expect(fund.status).toBe(422);
    expect(fund.body.code).toBe('account_not_allowed');
    const again = await t.admin.post('/v1/accounts', { partyId: party, currency: 'TST-private', address: chain.address(30) });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('account_exists');
    const badChecksum = await t.admin.post('/v1/accounts', { partyId: party, currency: 'TST-private', address: '0x70997970c51812dc3A010C7d01b50e0d17dc79C8' });
    expect(badChecksum.status).toBe(422);
    expect(badChecksum.body.code).toBe('invalid_address');
    const fiat = await t.admin.post('/v1/accounts', { partyId: party, currency: 'USD', address: chain.address(30) });
    expect(fiat.status).toBe(422);
  });

  it('rejects an address on an option whose chain is not configured', async () => {
    const party = await createUser(t.admin);
    const usd = (await t.admin.post('/v1/accounts', { partyId: party, currency: 'USD' })).body.id;
    const res = await t.admin.post('/v1/payment-requests', { amount: '1', currency: 'USD', payee: { accountId: usd }, expiresIn: 600, paymentOptions: [{ currency: 'USDC-mainnet', address: chain.address(31) }] });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('chain_not_configured');
  });
});

describe('a large block range', () => {
  it('scans thousands of blocks in bounded eth_getLogs ranges and finds the payment at the end', async () => {
    await chain.mine(3000);
    const server = await startChainServer(chain, { startBlock: 0, maxBlockRange: 250 });
    try {
      const p = await createWalletPayee(server.admin, chain.address(40));
      const pr = await createRequest(server.admin, p.accountId, { amount: '1.5', currency: 'TST-private' });
      await payOnChain(server.admin, chain, pr.id, PAYER);
      await chain.mine(3);
      const paid = await waitForStatus(server.admin, pr.id, 'paid', 30_000);
      expect(paid.amountPaid).toBe('1.5');
    } finally {
      await server.close();
    }
  });
});
