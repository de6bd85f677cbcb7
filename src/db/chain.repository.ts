/**
 * The EVM rail's rows: the payment-reference index the watcher matches logs against, each
 * chain's cursor and lease, the block hashes scanned within the reorg window, and the logs seen.
 * Addresses and hashes are stored in lower case; amounts are token base units (decimal strings).
 */
import type { ChainLog, ChainLogStatus, ChainReference } from '../domain/entities.js';
import type { Mode } from '../domain/payment-request.js';
import type { ChainLogRow, ChainReferenceRow } from './schema.js';
import type { Db, Tx } from './tx.js';

/** A chain's cursor: the last block scanned (null before the first scan) and the lease. Times epoch ms. */
export interface ChainCursor {
  chainId: number;
  network: string;
  lastScanned: number | null;
  leaseHolder: string | null;
  leaseUntil: number | null;
}

function rowToReference(row: ChainReferenceRow): ChainReference {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    paymentRequestId: row.payment_request_id,
    currency: row.currency,
    chainId: Number(row.chain_id),
    kind: row.kind as ChainReference['kind'],
    proxyAddress: row.proxy_address,
    tokenAddress: row.token_address,
    toAddress: row.to_address,
    reference: row.reference,
    topic: row.topic,
    listeningSince: row.listening_since === null ? null : Number(row.listening_since),
    createdAt: Number(row.created_at),
  };
}

function rowToLog(row: ChainLogRow): ChainLog {
  return {
    id: row.id,
    chainId: Number(row.chain_id),
    txHash: row.tx_hash,
    logIndex: Number(row.log_index),
    blockNumber: Number(row.block_number),
    blockHash: row.block_hash,
    referenceId: row.reference_id,
    fromAddress: row.from_address,
    tokenAddress: row.token_address,
    toAddress: row.to_address,
    amount: BigInt(row.amount),
    feeAmount: BigInt(row.fee_amount),
    feeAddress: row.fee_address,
    status: row.status as ChainLogStatus,
    paymentId: row.payment_id,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Inserts a request's on-chain references. */
export async function insertChainReferences(tx: Db, refs: ChainReference[]): Promise<void> {
  if (refs.length === 0) return;
  await tx.db
    .insertInto('chain_references')
    .values(
      refs.map((r) => ({
        id: r.id,
        org_id: r.orgId,
        mode: r.mode,
        payment_request_id: r.paymentRequestId,
        currency: r.currency,
        chain_id: r.chainId,
        kind: r.kind,
        proxy_address: r.proxyAddress.toLowerCase(),
        token_address: r.tokenAddress.toLowerCase(),
        to_address: r.toAddress.toLowerCase(),
        reference: r.reference,
        topic: r.topic,
        listening_since: r.listeningSince,
        created_at: r.createdAt,
      })),
    )
    .execute();
}

/** The references on `chainId` whose topic is one of `topics` (through the `(chain_id, topic)` index). */
export async function findChainReferencesByTopics(tx: Db, chainId: number, topics: readonly string[]): Promise<ChainReference[]> {
  if (topics.length === 0) return [];
  const rows = await tx.db.selectFrom('chain_references').selectAll().where('chain_id', '=', chainId).where('topic', 'in', [...new Set(topics)]).execute();
  return rows.map(rowToReference);
}

/** The references of an org and mode with this payment reference (16 hex characters). */
export async function findChainReferencesByReference(tx: Db, orgId: string, mode: Mode, reference: string): Promise<ChainReference[]> {
  const rows = await tx.db.selectFrom('chain_references').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('reference', '=', reference).orderBy('id').execute();
  return rows.map(rowToReference);
}

/** A request's on-chain references, in option order. */
export async function listChainReferences(tx: Db, paymentRequestId: string): Promise<ChainReference[]> {
  const rows = await tx.db.selectFrom('chain_references').selectAll().where('payment_request_id', '=', paymentRequestId).orderBy('id').execute();
  return rows.map(rowToReference);
}

/** The reference with this id. */
export async function findChainReference(tx: Db, id: string): Promise<ChainReference | undefined> {
  const row = await tx.db.selectFrom('chain_references').selectAll().where('id', '=', id).executeTakeFirst();
  return row && rowToReference(row);
}

/** Sets `listening_since` the first time a pay call asks for a reference's transactions. */
export async function markListening(tx: Db, id: string, now: number): Promise<void> {
  await tx.db.updateTable('chain_references').set({ listening_since: now }).where('id', '=', id).where('listening_since', 'is', null).execute();
}

/** Creates the cursor row of a chain if it does not exist yet (idempotent under races). */
export async function ensureCursor(tx: Db, chainId: number, network: string, now: number): Promise<void> {
  await tx.db
    .insertInto('chain_cursors')
    .values({ chain_id: chainId, network, last_scanned: null, lease_holder: null, lease_until: null, updated_at: now })
    .onConflict((oc) => oc.column('chain_id').doNothing())
    .execute();
}

/**
 * Takes or renews the chain's lease for `holder` until `until` (epoch ms), when it is free,
 * expired, or already the holder's.
 * @returns the cursor when the lease is the holder's now, else undefined.
 */
export async function takeLease(tx: Db, chainId: number, holder: string, until: number, now: number): Promise<ChainCursor | undefined> {
  const result = await tx.db
    .updateTable('chain_cursors')
    .set({ lease_holder: holder, lease_until: until, updated_at: now })
    .where('chain_id', '=', chainId)
    .where((eb) => eb.or([eb('lease_holder', 'is', null), eb('lease_holder', '=', holder), eb('lease_until', '<', now)]))
    .executeTakeFirst();
  if (result.numUpdatedRows !== 1n) return undefined;
  const row = await tx.db.selectFrom('chain_cursors').selectAll().where('chain_id', '=', chainId).executeTakeFirstOrThrow();
  return {
    chainId: Number(row.chain_id),
    network: row.network,
    lastScanned: row.last_scanned === null ? null : Number(row.last_scanned),
    leaseHolder: row.lease_holder,
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
  };
}

/** Gives the lease up (on shutdown), so another process takes over at once. */
export async function releaseLease(tx: Db, chainId: number, holder: string): Promise<void> {
  await tx.db.updateTable('chain_cursors').set({ lease_holder: null, lease_until: null }).where('chain_id', '=', chainId).where('lease_holder', '=', holder).execute();
}

/**
 * Moves the cursor to `block`, only while `holder` still holds the lease; on PostgreSQL the
 * cursor row stays locked until the transaction ends, so the holder's writes in it are its own.
 * @returns false when the lease was lost (the caller's transaction must roll back).
 */
export async function setLastScanned(tx: Db, chainId: number, holder: string, block: number, now: number): Promise<boolean> {
  const result = await tx.db
    .updateTable('chain_cursors')
    .set({ last_scanned: block, updated_at: now })
    .where('chain_id', '=', chainId)
    .where('lease_holder', '=', holder)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/** The stored block hashes of a chain, highest block first. */
export async function listBlockHashes(tx: Db, chainId: number): Promise<{ number: number; hash: string }[]> {
  const rows = await tx.db.selectFrom('chain_blocks').select(['number', 'hash']).where('chain_id', '=', chainId).orderBy('number', 'desc').execute();
  return rows.map((r) => ({ number: Number(r.number), hash: r.hash }));
}

/** Stores block hashes (replacing any at the same numbers), and drops those below `keepFrom`. */
export async function saveBlockHashes(tx: Tx, chainId: number, blocks: { number: number; hash: string }[], keepFrom: number): Promise<void> {
  if (blocks.length > 0) {
    await tx.db.deleteFrom('chain_blocks').where('chain_id', '=', chainId).where('number', 'in', blocks.map((b) => b.number)).execute();
    await tx.db.insertInto('chain_blocks').values(blocks.map((b) => ({ chain_id: chainId, number: b.number, hash: b.hash.toLowerCase() }))).execute();
  }
  await tx.db.deleteFrom('chain_blocks').where('chain_id', '=', chainId).where('number', '<', keepFrom).execute();
}

/** Drops the stored hashes above `block` (they belong to a fork that was abandoned). */
export async function deleteBlockHashesAbove(tx: Db, chainId: number, block: number): Promise<void> {
  await tx.db.deleteFrom('chain_blocks').where('chain_id', '=', chainId).where('number', '>', block).execute();
}

/** Inserts a log once: a repeat of `(chainId, txHash, logIndex)` is ignored. */
export async function insertChainLog(tx: Db, log: ChainLog): Promise<void> {
  await tx.db
    .insertInto('chain_logs')
    .values({
      id: log.id,
      chain_id: log.chainId,
      tx_hash: log.txHash.toLowerCase(),
      log_index: log.logIndex,
      block_number: log.blockNumber,
      block_hash: log.blockHash.toLowerCase(),
      reference_id: log.referenceId,
      from_address: log.fromAddress,
      token_address: log.tokenAddress.toLowerCase(),
      to_address: log.toAddress.toLowerCase(),
      amount: log.amount.toString(),
      fee_amount: log.feeAmount.toString(),
      fee_address: log.feeAddress.toLowerCase(),
      status: log.status,
      payment_id: log.paymentId,
      created_at: log.createdAt,
      updated_at: log.updatedAt,
    })
    .onConflict((oc) => oc.columns(['chain_id', 'tx_hash', 'log_index']).doNothing())
    .execute();
}

/** The log with this identity, or undefined. */
export async function findChainLog(tx: Db, chainId: number, txHash: string, logIndex: number): Promise<ChainLog | undefined> {
  const row = await tx.db
    .selectFrom('chain_logs')
    .selectAll()
    .where('chain_id', '=', chainId)
    .where('tx_hash', '=', txHash.toLowerCase())
    .where('log_index', '=', logIndex)
    .executeTakeFirst();
  return row && rowToLog(row);
}

/** The `seen` logs of a chain at or below `maxBlock` (deep enough to record), oldest first. */
export async function listLogsToConfirm(tx: Db, chainId: number, maxBlock: number): Promise<ChainLog[]> {
  const rows = await tx.db
    .selectFrom('chain_logs')
    .selectAll()
    .where('chain_id', '=', chainId)
    .where('status', '=', 'seen')
    .where('block_number', '<=', maxBlock)
    .orderBy('block_number')
    .orderBy('log_index')
    .execute();
  return rows.map(rowToLog);
}

/** The logs of a chain above `block` that a reorg to `block` removes (any status but `reverted`). */
export async function listLogsAbove(tx: Db, chainId: number, block: number): Promise<ChainLog[]> {
  const rows = await tx.db
    .selectFrom('chain_logs')
    .selectAll()
    .where('chain_id', '=', chainId)
    .where('block_number', '>', block)
    .where('status', '!=', 'reverted')
    .orderBy('block_number', 'desc')
    .execute();
  return rows.map(rowToLog);
}

/** A request's logs (any status), oldest first. */
export async function listLogsOfRequest(tx: Db, paymentRequestId: string): Promise<(ChainLog & { currency: string })[]> {
  const rows = await tx.db
    .selectFrom('chain_logs')
    .innerJoin('chain_references', 'chain_references.id', 'chain_logs.reference_id')
    .selectAll('chain_logs')
    .select('chain_references.currency as currency')
    .where('chain_references.payment_request_id', '=', paymentRequestId)
    .orderBy('chain_logs.block_number')
    .orderBy('chain_logs.log_index')
    .execute();
  return rows.map((r) => ({ ...rowToLog(r), currency: r.currency }));
}

/** Deletes a log that a reorg removed before it was recorded (it never counted). */
export async function deleteChainLog(tx: Db, id: string): Promise<void> {
  await tx.db.deleteFrom('chain_logs').where('id', '=', id).execute();
}

/** Re-arms a reverted log whose transaction came back in the new fork: same identity, new block. */
export async function reviveChainLog(tx: Db, id: string, blockNumber: number, blockHash: string, now: number): Promise<void> {
  await tx.db
    .updateTable('chain_logs')
    .set({ status: 'seen', payment_id: null, block_number: blockNumber, block_hash: blockHash.toLowerCase(), updated_at: now })
    .where('id', '=', id)
    .execute();
}

