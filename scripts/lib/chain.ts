/**
 * A real local chain for tests and the chain demo: anvil (the binary in `@foundry-rs/anvil-linux-amd64`,
 * the platform package behind `@foundry-rs/anvil`) on a free port, with Request Network's ERC20FeeProxy, EthereumFeeProxy,
 * BatchPayments and a test ERC-20 deployed from the compiled bytecode that
 * `@requestnetwork/smart-contracts` ships in its typechain factories. Wallets are anvil's funded
 * test accounts, driven with viem.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  type Abi,
  type Account,
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  getAddress,
  type Hex,
  http,
  type PublicClient,
  type WalletClient,
} from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { anvil } from 'viem/chains';
import type { Token } from '../../src/domain/currency.js';
import type { ChainConfig } from '../../src/rails/evm/chains.js';
import { freePort } from './process.js';
import { waitUntil } from './wait.js';

const require = createRequire(import.meta.url);

/** The anvil binary shipped by `@foundry-rs/anvil-linux-amd64` (no download at install). */
export function anvilBinary(): string {
  return join(dirname(require.resolve('@foundry-rs/anvil-linux-amd64/package.json')), 'bin', 'anvil');
}

interface Factory {
  abi: Abi;
  bytecode: Hex;
}

/** A contract's ABI and creation bytecode from `@requestnetwork/smart-contracts`' typechain factories. */
export function factory(path: string, name: string): Factory {
  const module = require(`@requestnetwork/smart-contracts/types/factories/src/contracts/${path}`) as Record<string, { abi: Abi; bytecode: Hex }>;
  const f = module[`${name}__factory`];
  if (!f) throw new Error(`no ${name}__factory in ${path}`);
  return { abi: f.abi, bytecode: f.bytecode };
}

/** anvil's default mnemonic: account i is funded with 10 000 ETH. */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';
/** The chain id anvil runs with. */
export const ANVIL_CHAIN_ID = 31337;

/** A running local chain with the contracts deployed. */
export interface TestChain {
  rpcUrl: string;
  client: PublicClient;
  /** A wallet for anvil account `index` (0 deploys; the others are payers and payees). */
  wallet(index: number): WalletClient & { account: Account };
  address(index: number): Hex;
  erc20FeeProxy: Hex;
  ethFeeProxy: Hex;
  batchPayments: Hex;
  /** The test ERC-20 (decimals from the contract) and a second one, for "another token" tests. */
  token: Hex;
  otherToken: Hex;
  tokenDecimals: number;
  /** Token-list entries: `TST-private` (the test ERC-20), `OTH-private`, and `ETH-private` (native). */
  tokens: Token[];
  /** A `PAYREQ_CHAINS` entry for this chain. */
  chainConfig(overrides?: Partial<ChainConfig>): ChainConfig;
  /** Mines `blocks` empty blocks. */
  mine(blocks: number): Promise<void>;
  blockNumber(): Promise<number>;
  snapshot(): Promise<Hex>;
  revert(id: Hex): Promise<void>;
  /** Sends `data` to `to` from wallet `index`, waits for the receipt. */
  send(index: number, tx: { to: Hex; data: Hex; value?: bigint }): Promise<Hex>;
  /** Transfers test tokens from the deployer to wallet `index`. */
  fund(index: number, amount: bigint, token?: Hex): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts anvil on a free port (automine: every transaction mines its own block) and deploys
 * the contracts.
 * @throws Error when anvil does not answer within 20 s.
 */
export async function startTestChain(): Promise<TestChain> {
  const port = await freePort();
  const child: ChildProcess = spawn(anvilBinary(), ['--port', String(port), '--host', '127.0.0.1', '--chain-id', String(ANVIL_CHAIN_ID), '--silent'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const rpcUrl = `http://127.0.0.1:${port}`;
  const client = createPublicClient({ transport: http(rpcUrl) }) as PublicClient;
  await waitUntil(async () => {
    if (child.exitCode !== null) throw new Error(`anvil exited: ${stderr}`);
    return client.getChainId().then(() => true, () => false);
  }, 20_000, 'anvil to answer');

  const wallets = new Map<number, WalletClient & { account: Account }>();
  const wallet = (index: number) => {
    let w = wallets.get(index);
    if (!w) {
      w = createWalletClient({ account: mnemonicToAccount(ANVIL_MNEMONIC, { addressIndex: index }), transport: http(rpcUrl), chain: anvil });
      wallets.set(index, w);
    }
    return w;
  };
  const send = async (index: number, tx: { to: Hex; data: Hex; value?: bigint }) => {
    const hash = await wallet(index).sendTransaction({ account: wallet(index).account, chain: anvil, to: tx.to, data: tx.data, value: tx.value ?? 0n });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (receipt.status !== 'success') throw new Error(`transaction ${hash} reverted`);
    return hash;
  };
  const deploy = async (f: Factory, args: unknown[] = []) => {
    const hash = await wallet(0).deployContract({ abi: f.abi, bytecode: f.bytecode, args, account: wallet(0).account, chain: anvil });
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 20 });
    if (!receipt.contractAddress) throw new Error('deployment failed');
    return getAddress(receipt.contractAddress);
  };

  const erc20 = factory('TestERC20.sol/TestERC20__factory.js', 'TestERC20');
  const erc20FeeProxy = await deploy(factory('ERC20FeeProxy__factory.js', 'ERC20FeeProxy'));
  const ethFeeProxy = await deploy(factory('EthereumFeeProxy__factory.js', 'EthereumFeeProxy'));
  const supply = 10n ** 30n;
  const token = await deploy(erc20, [supply]);
  const otherToken = await deploy(erc20, [supply]);
  const batchPayments = await deploy(factory('BatchPayments__factory.js', 'BatchPayments'), [erc20FeeProxy, ethFeeProxy, wallet(0).account.address]);
  const tokenDecimals = Number(await client.readContract({ address: token, abi: erc20.abi, functionName: 'decimals' }));

  const tokens: Token[] = [
    { id: 'TST-private', name: 'Test token', symbol: 'TST', decimals: tokenDecimals, network: 'private', chainId: ANVIL_CHAIN_ID, address: token },
    { id: 'OTH-private', name: 'Other test token', symbol: 'OTH', decimals: tokenDecimals, network: 'private', chainId: ANVIL_CHAIN_ID, address: otherToken },
    { id: 'ETH-private', name: 'Ether', symbol: 'ETH', decimals: 18, network: 'private', chainId: ANVIL_CHAIN_ID, address: '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE' },
  ];

  return {
    rpcUrl,
    client,
    wallet,
    address: (index) => wallet(index).account.address,
    erc20FeeProxy,
    ethFeeProxy,
    batchPayments,
    token,
    otherToken,
    tokenDecimals,
    tokens,
    chainConfig: (overrides = {}) => ({
      network: 'private',
      chainId: ANVIL_CHAIN_ID,
      rpcUrl,
      confirmations: 3,
      erc20FeeProxy,
      ethFeeProxy,
      startBlock: 0,
      pollIntervalMs: 50,
      maxBlockRange: 2000,
      ...overrides,
    }),
    async mine(blocks) {
      // anvil's time per mined block grows with the chain (thousands of blocks in one call can
      // outlast the RPC timeout on a loaded machine): mine in bounded steps.
      for (let left = blocks; left > 0; left -= 250) {
        await client.request({ method: 'anvil_mine' as 'eth_chainId', params: [`0x${Math.min(left, 250).toString(16)}`] as unknown as undefined });
      }
    },
    blockNumber: async () => Number(await client.getBlockNumber()),
    snapshot: () => client.request({ method: 'evm_snapshot' as 'eth_chainId' }),
    async revert(id) {
      await client.request({ method: 'evm_revert' as 'eth_chainId', params: [id] as unknown as undefined });
    },
    send,
    async fund(index, amount, which = token) {
      await send(0, { to: which, data: encodeFunctionData({ abi: erc20.abi, functionName: 'transfer', args: [wallet(index).account.address, amount] }) });
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
