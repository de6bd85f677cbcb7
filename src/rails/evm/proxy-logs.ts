/**
 * Reading the Request Network fee proxies' `TransferWithReferenceAndFee` logs (docs/evm.md): the
 * topics to ask `eth_getLogs` for, decoding a raw log, and matching it to the payment option it
 * pays. Pure: no RPC calls and no database; the chain watcher (src/workers/chain-watcher.ts)
 * does the reading and the bookkeeping.
 */
import { decodeEventLog, encodeEventTopics, type Hex } from 'viem';
import type { ChainReference } from '../../domain/entities.js';
import { erc20FeeProxyAbi, ethFeeProxyAbi, NATIVE_TOKEN_ADDRESS } from './abi.js';
import type { ChainConfig } from './chains.js';

/** `topics[0]` of the ERC20 fee proxy's `TransferWithReferenceAndFee`. */
export const ERC20_TOPIC = encodeEventTopics({ abi: erc20FeeProxyAbi, eventName: 'TransferWithReferenceAndFee' })[0];
/** `topics[0]` of the native-token fee proxy's `TransferWithReferenceAndFee`. */
export const NATIVE_TOPIC = encodeEventTopics({ abi: ethFeeProxyAbi, eventName: 'TransferWithReferenceAndFee' })[0];

/** A raw `eth_getLogs` entry. */
export interface RpcLog {
  address: Hex;
  topics: Hex[];
  data: Hex;
  blockNumber: Hex;
  blockHash: Hex;
  transactionHash: Hex;
  logIndex: Hex;
  removed?: boolean;
}

/** A decoded proxy log: amounts in base units, addresses lower case. */
export interface ProxyLog {
  kind: 'erc20' | 'native';
  topic: string;
  blockNumber: number;
  blockHash: string;
  txHash: string;
  logIndex: number;
  tokenAddress: string;
  to: string;
  amount: bigint;
  feeAmount: bigint;
  feeAddress: string;
}

/**
 * Decodes a log of either fee proxy of `chain`; undefined for a log from another address, of
 * another event, or that does not decode (nothing Payreq can record).
 */
export function decodeProxyLog(chain: ChainConfig, log: RpcLog): ProxyLog | undefined {
  const address = log.address.toLowerCase();
  const base = {
    topic: (log.topics[1] ?? '').toLowerCase(),
    blockNumber: Number(BigInt(log.blockNumber)),
    blockHash: log.blockHash.toLowerCase(),
    txHash: log.transactionHash.toLowerCase(),
    logIndex: Number(BigInt(log.logIndex)),
  };
  try {
    if (address === chain.erc20FeeProxy.toLowerCase() && log.topics[0] === ERC20_TOPIC) {
      const { args } = decodeEventLog({ abi: erc20FeeProxyAbi, data: log.data, topics: log.topics as [Hex, ...Hex[]], eventName: 'TransferWithReferenceAndFee' });
      return { ...base, kind: 'erc20', tokenAddress: args.tokenAddress.toLowerCase(), to: args.to.toLowerCase(), amount: args.amount, feeAmount: args.feeAmount, feeAddress: args.feeAddress.toLowerCase() };
    }
    if (chain.ethFeeProxy !== undefined && address === chain.ethFeeProxy.toLowerCase() && log.topics[0] === NATIVE_TOPIC) {
      const { args } = decodeEventLog({ abi: ethFeeProxyAbi, data: log.data, topics: log.topics as [Hex, ...Hex[]], eventName: 'TransferWithReferenceAndFee' });
      return { ...base, kind: 'native', tokenAddress: NATIVE_TOKEN_ADDRESS.toLowerCase(), to: args.to.toLowerCase(), amount: args.amount, feeAmount: args.feeAmount, feeAddress: args.feeAddress.toLowerCase() };
    }
  } catch {
    return undefined; // not a well-formed proxy event: nothing Payreq can record
  }
  return undefined;
}

/** The option a log pays: same kind, token and payee address; else the first reference, to file it as ignored. */
export function matchReference(log: ProxyLog, refs: ChainReference[]): { ref: ChainReference; matches: boolean } | undefined {
  const candidates = refs.filter((r) => r.topic === log.topic);
  const hit = candidates.find((r) => r.kind === log.kind && r.tokenAddress === log.tokenAddress && r.toAddress === log.to);
  if (hit) return { ref: hit, matches: true };
  const first = candidates[0];
  return first && { ref: first, matches: false };
}
