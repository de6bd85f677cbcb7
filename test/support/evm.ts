/** Helpers for EVM-rail tests: a payee with a wallet account, and paying a request the way a wallet would. */
import { encodeFunctionData, type Hex, maxUint256, zeroAddress } from 'viem';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Config } from '../../src/config.js';
import { factory, type TestChain } from './chain.js';
import type { Client } from './client.js';
import { createUser } from './factories.js';
import { type TestServer, startTestServer } from './server.js';
import { waitUntil } from './wait.js';

/** Server overrides for a chain: its tokens added to the list, the chain watched, USD→TST at 1:1. */
export function chainOverrides(chain: TestChain, overrides: Partial<Config['chains'][number]> = {}): Partial<Config> {
  return {
    tokens: [...loadConfig({}).tokens, ...chain.tokens],
    chains: [chain.chainConfig(overrides)],
    fxRates: { 'USD/TST-private': '1', 'USD/USDC-mainnet': '1', 'USD/ETH-private': '0.001', 'TST-private/ETH-private': '0.001' },
  };
}

/** Starts a Payreq server watching `chain`. */
export function startChainServer(chain: TestChain, overrides: Partial<Config['chains'][number]> = {}, extra: Partial<Config> = {}): Promise<TestServer> {
  return startTestServer({ ...chainOverrides(chain, overrides), ...extra });
}

/** A payee party with a wallet account at `address` in `currency`; returns both ids. */
export async function createWalletPayee(api: Client, address: string, currency = 'TST-private'): Promise<{ partyId: string; accountId: string }> {
  const partyId = await createUser(api);
  const res = await api.post('/v1/accounts', { partyId, currency, address });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { partyId, accountId: res.body.id as string };
}

/** Asks Payreq for the transactions and sends each from wallet `payer`, in order; returns the pay response and the hashes. */
export async function payOnChain(api: Client, chain: TestChain, requestId: string, payer: number, query: Record<string, string> = {}) {
  const params = new URLSearchParams({ wallet: chain.address(payer), ...query });
  const res = await api.get(`/v1/payment-requests/${requestId}/pay?${params.toString()}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const hashes: Hex[] = [];
  for (const tx of res.body.transactions as { to: Hex; data: Hex; value: string }[]) {
    hashes.push(await chain.send(payer, { to: tx.to, data: tx.data, value: BigInt(tx.value) }));
  }
  return { pay: res.body, hashes };
}

/** Waits until the request's status (as GET shows it) is `status`. */
export async function waitForStatus(api: Client, requestId: string, status: string, timeoutMs = 15_000) {
  let last: unknown;
  await waitUntil(async () => {
    const res = await api.get(`/v1/payment-requests/${requestId}`);
    last = res.body;
    return res.body.status === status;
  }, timeoutMs, `payment request ${requestId} to be ${status} (last: ${JSON.stringify(last)})`);
  return (await api.get(`/v1/payment-requests/${requestId}`)).body;
}

/** The request's events' types, in order. */
export async function eventTypes(api: Client, requestId: string): Promise<string[]> {
  const res = await api.get(`/v1/payment-requests/${requestId}/events`);
  return (res.body.data as { type: string }[]).map((e) => e.type);
}

/** Waits a few watcher polls (each 50 ms in tests) so a test can assert that nothing happened. */
export function settle(ms = 600): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Pays straight through the proxies, as a wallet that knows nothing of Payreq would (the ABI
 * comes from `@requestnetwork/smart-contracts`, not from Payreq): approves the ERC20FeeProxy
 * when needed, then calls it; for the native currency calls EthereumFeeProxy with `value`.
 * Amounts are base units; `reference` is 16 hex characters (with or without 0x).
 */
export async function payDirect(chain: TestChain, payer: number, p: { token?: Hex | 'native'; to: Hex; amount: bigint; reference: string; feeAmount?: bigint; feeAddress?: Hex }): Promise<Hex> {
  const reference = `0x${p.reference.replace(/^0x/, '')}`;
  const fee = p.feeAmount ?? 0n;
  const feeAddress = p.feeAddress ?? zeroAddress;
  if (p.token === 'native') {
    const proxy = factory('EthereumFeeProxy__factory.js', 'EthereumFeeProxy');
    return chain.send(payer, { to: chain.ethFeeProxy, value: p.amount + fee, data: encodeFunctionData({ abi: proxy.abi, functionName: 'transferWithReferenceAndFee', args: [p.to, reference, fee, feeAddress] }) });
  }
  const token = p.token ?? chain.token;
  const erc20 = factory('TestERC20.sol/TestERC20__factory.js', 'TestERC20');
  const allowance = (await chain.client.readContract({ address: token, abi: erc20.abi, functionName: 'allowance', args: [chain.address(payer), chain.erc20FeeProxy] })) as bigint;
  if (allowance < p.amount + fee) {
    await chain.send(payer, { to: token, data: encodeFunctionData({ abi: erc20.abi, functionName: 'approve', args: [chain.erc20FeeProxy, maxUint256] }) });
  }
  const proxy = factory('ERC20FeeProxy__factory.js', 'ERC20FeeProxy');
  return chain.send(payer, { to: chain.erc20FeeProxy, data: encodeFunctionData({ abi: proxy.abi, functionName: 'transferFromWithReferenceAndFee', args: [token, p.to, p.amount, reference, fee, feeAddress] }) });
}

/** The base units of `amount` (a decimal string) with `decimals`. */
export function units(amount: string, decimals = 18): bigint {
  const [whole = '0', fraction = ''] = amount.split('.');
  return BigInt(whole + fraction.padEnd(decimals, '0'));
}
