/**
 * The chains Payreq watches (`PAYREQ_CHAINS`) and which currencies are payable on them.
 *
 * A token from the token list is payable on chain when its `network` is a configured chain
 * (and its `chainId` agrees). A token whose address is {@link NATIVE_TOKEN_ADDRESS} is the
 * chain's native currency, paid through EthereumFeeProxy; any other through ERC20FeeProxy.
 * Proxy addresses default to Request Network's deployments ({@link DEPLOYMENTS}).
 */
import { createPublicClient, getAddress, http, isAddress, type PublicClient } from 'viem';
import { z } from 'zod';
import type { CurrencyRegistry, Token } from '../../domain/currency.js';
import { NATIVE_TOKEN_ADDRESS } from './abi.js';
import { DEPLOYMENTS } from './deployments.js';

/** One configured chain. Times in milliseconds; block numbers and confirmations are counts. */
export interface ChainConfig {
  /** Request Network's network name (`mainnet`, `sepolia`, `base`, `matic`…), as in the token list. */
  network: string;
  chainId: number;
  /** JSON-RPC endpoint (http or https). */
  rpcUrl: string;
  /**
   * How deep a log must be before its payment is recorded: a log in the head block has 1
   * confirmation, so 1 records on the first block, 12 waits for 11 more.
   */
  confirmations: number;
  erc20FeeProxy: `0x${string}`;
  /** Absent when the network has no EthereumFeeProxy: native-currency payments are then off there. */
  ethFeeProxy: `0x${string}` | undefined;
  /** The first block to scan on a database that has never watched this chain (default: the head at first start). */
  startBlock: number | undefined;
  /** How often the watcher polls the chain (default 4 000 ms). */
  pollIntervalMs: number;
  /** The largest block range of one `eth_getLogs` call (default 2 000). */
  maxBlockRange: number;
}

const address = z.string().refine((a) => isAddress(a, { strict: false }), 'must be a 0x-prefixed 20-byte hex address');

const chainSchema = z.strictObject({
  network: z.string().regex(/^[a-z0-9-]{1,40}$/, 'a Request Network network name such as "sepolia"'),
  chainId: z.number().int().positive(),
  rpcUrl: z.url({ protocol: /^https?$/ }),
  confirmations: z.number().int().min(1).max(1000),
  erc20FeeProxy: address.optional(),
  ethFeeProxy: address.optional(),
  startBlock: z.number().int().min(0).optional(),
  pollIntervalMs: z.number().int().min(10).default(4000),
  maxBlockRange: z.number().int().min(1).max(1_000_000).default(2000),
});

/**
 * Parses `PAYREQ_CHAINS`: a JSON array of chains, or `@path/to/file.json` naming a file that
 * holds one. Empty or absent: no chains (the EVM rail is off).
 * @param readFile - reads the `@path` file (the config loader passes `fs.readFileSync`).
 * @throws Error naming the first invalid entry, a repeated network or chain id, or a network
 *   without a known ERC20FeeProxy and none given.
 */
export function parseChains(text: string | undefined, readFile: (path: string) => string): ChainConfig[] {
  if (text === undefined || text.trim() === '') return [];
  const json = text.trim().startsWith('@') ? readFile(text.trim().slice(1)) : text;
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new Error('PAYREQ_CHAINS must be a JSON array of chains, or @path to a file holding one');
  }
  const parsed = z.array(chainSchema).safeParse(raw);
  if (!parsed.success) {
    throw new Error(`PAYREQ_CHAINS: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const chains = parsed.data.map((c): ChainConfig => {
    const known = DEPLOYMENTS[c.network];
    const erc20FeeProxy = c.erc20FeeProxy ?? known?.erc20FeeProxy;
    if (erc20FeeProxy === undefined) throw new Error(`PAYREQ_CHAINS: network "${c.network}" has no known ERC20FeeProxy deployment; give erc20FeeProxy`);
    const ethFeeProxy = c.ethFeeProxy ?? known?.ethFeeProxy;
    return {
      network: c.network,
      chainId: c.chainId,
      rpcUrl: c.rpcUrl,
      confirmations: c.confirmations,
      erc20FeeProxy: getAddress(erc20FeeProxy),
      ethFeeProxy: ethFeeProxy === undefined ? undefined : getAddress(ethFeeProxy),
      startBlock: c.startBlock,
      pollIntervalMs: c.pollIntervalMs,
      maxBlockRange: c.maxBlockRange,
    };
  });
  for (const [i, c] of chains.entries()) {
    if (chains.findIndex((o) => o.network === c.network || o.chainId === c.chainId) !== i) {
      throw new Error(`PAYREQ_CHAINS: network "${c.network}" (chain ${c.chainId}) is listed twice`);
    }
  }
  return chains;
}

/** How a currency is paid on chain: its chain, token, the proxy to call and which kind of proxy. */
export interface OnChainCurrency {
  chain: ChainConfig;
  token: Token;
  /** `erc20`: ERC20FeeProxy; `native`: EthereumFeeProxy with `value`. */
  kind: 'erc20' | 'native';
  proxyAddress: `0x${string}`;
  /** The token contract (checksummed), or {@link NATIVE_TOKEN_ADDRESS} for the native currency. */
  tokenAddress: `0x${string}`;
}

/**
 * The configured chains, their RPC clients, and which currencies are payable on them.
 */
export class ChainRegistry {
  private readonly clients = new Map<number, PublicClient>();
  private readonly resolved = new Map<string, OnChainCurrency | undefined>();

  /**
   * @throws Error when a token of a configured network names another chain id.
   */
  readonly chains: readonly ChainConfig[];

  constructor(
    chains: readonly ChainConfig[],
    private readonly currencies: CurrencyRegistry,
  ) {
    this.chains = chains.map((c) => ({ ...c, erc20FeeProxy: getAddress(c.erc20FeeProxy), ethFeeProxy: c.ethFeeProxy === undefined ? undefined : getAddress(c.ethFeeProxy) }));
    for (const token of currencies.listTokens()) {
      const chain = this.chains.find((c) => c.network === token.network);
      if (chain && chain.chainId !== token.chainId) {
        throw new Error(`token ${token.id} is on chain ${token.chainId}, but PAYREQ_CHAINS has ${token.network} as chain ${chain.chainId}`);
      }
    }
  }

  /** True when at least one chain is configured (the EVM rail is on). */
  get enabled(): boolean {
    return this.chains.length > 0;
  }

  /** The chain with this id, or undefined. */
  byChainId(chainId: number): ChainConfig | undefined {
    return this.chains.find((c) => c.chainId === chainId);
  }

  /**
   * How `currency` (a currency code) is paid on chain, or undefined when it is fiat or its
   * network is not configured. Remembered per code: it is asked for every on-chain option of
   * every request presented, and the answer cannot change.
   */
  onChain(currency: string): OnChainCurrency | undefined {
    if (!this.resolved.has(currency)) this.resolved.set(currency, this.resolve(currency));
    return this.resolved.get(currency);
  }

  private resolve(code: string): OnChainCurrency | undefined {
    const token = this.currencies.find(code)?.token;
    if (!token) return undefined;
    const chain = this.chains.find((ch) => ch.network === token.network);
    if (!chain) return undefined;
    const native = token.address.toLowerCase() === NATIVE_TOKEN_ADDRESS.toLowerCase();
    if (native) {
      if (chain.ethFeeProxy === undefined) return undefined;
      return { chain, token, kind: 'native', proxyAddress: chain.ethFeeProxy, tokenAddress: NATIVE_TOKEN_ADDRESS };
    }
    return { chain, token, kind: 'erc20', proxyAddress: chain.erc20FeeProxy, tokenAddress: getAddress(token.address) };
  }

  /** The viem client of a configured chain (one per chain, created on first use). */
  client(chain: ChainConfig): PublicClient {
    let client = this.clients.get(chain.chainId);
    if (!client) {
      client = createPublicClient({ transport: http(chain.rpcUrl, { retryCount: 1, timeout: 10_000 }) });
      this.clients.set(chain.chainId, client);
    }
    return client;
  }
}
