/**
 * The chain watcher (docs/evm.md): one per configured chain, running in every process but
 * active in one at a time (a lease on the chain's cursor row, taken over when its holder stops
 * renewing it).
 *
 * Each tick:
 * 1. **Reorg check.** The watcher keeps the hashes of the blocks it scanned near the head
 *    (the confirmation depth plus {@link REORG_WINDOW}). When the highest one no longer matches
 *    the chain, it walks back to the highest block that still matches (the fork point): logs
 *    above it that were only seen are dropped (they never counted), logs already recorded are
 *    reverted (`payment.reverted`), and scanning resumes from the fork point.
 * 2. **Scan.** `eth_getLogs` of both proxies' `TransferWithReferenceAndFee` from the cursor to
 *    the head in ranges of at most `maxBlockRange` blocks. Each log's `topics[1]` (the keccak of
 *    the reference) is looked up through the `(chain_id, topic)` index; a match is stored as
 *    `seen`, or `ignored` when its token or payee address is not the option's.
 * 3. **Confirm.** A seen log `confirmations` deep (in a block at most head − confirmations + 1)
 *    is recorded as a payment, once: by (chainId, txHash, logIndex).
 *
 * A payment made while no Payreq process ran is found by the next scan from the cursor
 * (downtime loses nothing). Block numbers and amounts are `bigint` on the wire, numbers
 * (blocks) and `bigint` (base units) here.
 */
import { randomUUID } from 'node:crypto';
import { type Hex, numberToHex, type PublicClient } from 'viem';
import { recordChainPayment, revertChainPayment } from '../app/chain-payments.js';
import type { Deps } from '../app/deps.js';
import type { ChainLog, ChainReference } from '../domain/entities.js';
import { newId } from '../domain/ids.js';
import {
  deleteBlockHashesAbove,
  deleteChainLog,
  ensureCursor,
  findChainLog,
  findChainReferencesByTopics,
  insertChainLog,
  listBlockHashes,
  listLogsAbove,
  listLogsToConfirm,
  releaseLease,
  reviveChainLog,
  saveBlockHashes,
  setLastScanned,
  takeLease,
} from '../db/chain.repository.js';
import type { ChainConfig } from '../rails/evm/chains.js';
import { decodeProxyLog, ERC20_TOPIC, matchReference, NATIVE_TOPIC, type ProxyLog, type RpcLog } from '../rails/evm/proxy-logs.js';
import type { Worker } from './worker.js';

/** Blocks kept beyond the confirmation depth for spotting reorgs deeper than it. */
export const REORG_WINDOW = 64;

/** Options for {@link startChainWatchers}. */
export interface WatcherOptions {
  onError: (err: unknown, chain: ChainConfig) => void;
}

/** One chain's watcher: `tick()` does one round (exported for tests and the demo). */
export class ChainWatcher {
  /** The lease holder's name: the process id (for operators reading chain_cursors) and a random part. */
  readonly holder = `watcher_${process.pid}_${randomUUID()}`;
  private readonly client: PublicClient;
  private ensured = false;

  constructor(
    private readonly deps: Deps,
    readonly chain: ChainConfig,
  ) {
    this.client = deps.chains.client(chain);
  }

  private get leaseMs(): number {
    return Math.max(10 * this.chain.pollIntervalMs, 5_000);
  }

  /** The number of blocks whose hashes are kept. */
  private get keepDepth(): number {
    return this.chain.confirmations + REORG_WINDOW;
  }

  private async blockHash(number: number): Promise<string | null> {
    const block = await this.client.request({ method: 'eth_getBlockByNumber', params: [numberToHex(number), false] });
    return block?.hash ? block.hash.toLowerCase() : null;
  }

  /**
   * One round: take or renew the lease, handle a reorg, scan to the head, record what is deep enough.
   * @returns false when another process holds the lease (nothing was done).
   */
  async tick(): Promise<boolean> {
    const { deps, chain } = this;
    if (!this.ensured) {
      await ensureCursor(deps.store, chain.chainId, chain.network, deps.clock());
      this.ensured = true;
    }
    const lease = () => deps.store.transaction((tx) => takeLease(tx, chain.chainId, this.holder, deps.clock() + this.leaseMs, deps.clock()));
    const cursor = await lease();
    if (!cursor) return false;
    // viem caches the block number for its polling interval (4 s) by default: the watcher wants the head now.
    const head = Number(await this.client.getBlockNumber({ cacheTime: 0 }));
    let last = cursor.lastScanned ?? (chain.startBlock ?? head) - 1;
    deps.metrics.chainLag.set({ network: chain.network, chain_id: String(chain.chainId) }, Math.max(0, head - last));

    const stored = await listBlockHashes(deps.store, chain.chainId);
    const top = stored[0];
    if (top !== undefined && (await this.blockHash(top.number)) !== top.hash) {
      last = await this.rewind(stored);
    }

    for (let from = last + 1; from <= head; ) {
      const to = Math.min(head, from + chain.maxBlockRange - 1);
      await this.scan(from, to, head);
      from = to + 1;
      if (from <= head && !(await lease())) return false;
    }

    const deepEnough = head - chain.confirmations + 1;
    for (const log of await listLogsToConfirm(deps.store, chain.chainId, deepEnough)) {
      await recordChainPayment(deps, { log, network: chain.network });
    }
    return true;
  }

  /** Finds the fork point among the stored hashes, undoes what lies above it, and returns it. */
  private async rewind(stored: { number: number; hash: string }[]): Promise<number> {
    const { deps, chain } = this;
    let fork = (stored[stored.length - 1]?.number ?? 0) - 1;
    for (const block of stored) {
      if ((await this.blockHash(block.number)) === block.hash) {
        fork = block.number;
        break;
      }
    }
    for (const log of await listLogsAbove(deps.store, chain.chainId, fork)) {
      if (log.status === 'recorded') await revertChainPayment(deps, log);
    }
    await deps.store.transaction(async (tx) => {
      if (!(await setLastScanned(tx, chain.chainId, this.holder, fork, deps.clock()))) throw new Error('chain lease lost during a reorg');
      for (const log of await listLogsAbove(tx, chain.chainId, fork)) {
        if (log.status === 'seen' || log.status === 'ignored') await deleteChainLog(tx, log.id);
      }
      await deleteBlockHashesAbove(tx, chain.chainId, fork);
    });
    return fork;
  }

  /** Scans `[from, to]` (block numbers, inclusive) and stores the matching logs and the block hashes near `head`. */
  private async scan(from: number, to: number, head: number): Promise<void> {
    const { deps, chain } = this;
    const addresses: Hex[] = [chain.erc20FeeProxy];
    if (chain.ethFeeProxy !== undefined) addresses.push(chain.ethFeeProxy);
    const raw: RpcLog[] = await this.client.request({
      method: 'eth_getLogs',
      params: [{ address: addresses, topics: [[ERC20_TOPIC, NATIVE_TOPIC]], fromBlock: numberToHex(from), toBlock: numberToHex(to) }],
    });
    const logs = raw.filter((l) => !l.removed).map((l) => decodeProxyLog(chain, l)).filter((l): l is ProxyLog => l !== undefined);
    const refs = await findChainReferencesByTopics(deps.store, chain.chainId, logs.map((l) => l.topic));

    const keepFrom = head - this.keepDepth + 1;
    const hashes: { number: number; hash: string }[] = [];
    for (let n = Math.max(from, keepFrom); n <= to; n++) {
      const hash = await this.blockHash(n);
      if (hash === null) throw new Error(`block ${n} of chain ${chain.chainId} is missing (a reorg under way?)`);
      hashes.push({ number: n, hash });
    }
    const senders = new Map<string, string | null>();
    const matched: { log: ProxyLog; ref: ChainReference; matches: boolean }[] = [];
    for (const log of logs) {
      const known = hashes.find((h) => h.number === log.blockNumber);
      if (known && known.hash !== log.blockHash) throw new Error(`block ${log.blockNumber} changed while it was scanned; retrying`);
      const m = matchReference(log, refs);
      if (!m) continue;
      matched.push({ log, ...m });
      if (!senders.has(log.txHash)) {
        const transaction = await this.client.getTransaction({ hash: log.txHash as Hex }).catch(() => undefined);
        senders.set(log.txHash, transaction?.from.toLowerCase() ?? null);
      }
    }

    await deps.store.transaction(async (tx) => {
      const now = deps.clock();
      if (!(await setLastScanned(tx, chain.chainId, this.holder, to, now))) throw new Error(`the lease on chain ${chain.chainId} was lost; another process watches it now`);
      for (const { log, ref, matches } of matched) {
        const existing = await findChainLog(tx, chain.chainId, log.txHash, log.logIndex);
        if (existing?.status === 'reverted' && existing.blockHash !== log.blockHash) {
          // The transaction came back in the new fork: it counts again once deep enough.
          await reviveChainLog(tx, existing.id, log.blockNumber, log.blockHash, now);
          continue;
        }
        if (existing) continue;
        const row: ChainLog = {
          id: newId(),
          chainId: chain.chainId,
          txHash: log.txHash,
          logIndex: log.logIndex,
          blockNumber: log.blockNumber,
          blockHash: log.blockHash,
          referenceId: ref.id,
          fromAddress: senders.get(log.txHash) ?? null,
          tokenAddress: log.tokenAddress,
          toAddress: log.to,
          amount: log.amount,
          feeAmount: log.feeAmount,
          feeAddress: log.feeAddress,
          status: matches ? 'seen' : 'ignored',
          paymentId: null,
          createdAt: now,
          updatedAt: now,
        };
        await insertChainLog(tx, row);
      }
      await saveBlockHashes(tx, chain.chainId, hashes, keepFrom);
    });
  }

  /** Gives up the lease (on shutdown), so that another process takes over at once. */
  async release(): Promise<void> {
    await releaseLease(this.deps.store, this.chain.chainId, this.holder);
  }
}

/**
 * Starts a watcher loop per configured chain: a tick every `pollIntervalMs` (errors are
 * reported and the next tick tries again). `stop()` finishes the tick under way and releases
 * the leases.
 */
export function startChainWatchers(deps: Deps, options: WatcherOptions): Worker & { watchers: ChainWatcher[] } {
  let stopped = false;
  const sleepers = new Set<() => void>();
  const watchers = deps.chains.chains.map((chain) => new ChainWatcher(deps, chain));
  const loops = watchers.map(async (watcher) => {
    while (!stopped) {
      try {
        await watcher.tick();
      } catch (err) {
        options.onError(err, watcher.chain);
      }
      if (stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, watcher.chain.pollIntervalMs);
        function done(): void {
          clearTimeout(timer);
          sleepers.delete(done);
          resolve();
        }
        sleepers.add(done);
      });
    }
    await watcher.release().catch((err: unknown) => options.onError(err, watcher.chain));
  });
  return {
    watchers,
    async stop() {
      stopped = true;
      for (const wake of [...sleepers]) wake();
      await Promise.all(loops);
    },
  };
}
