/**
 * Stored responses for `Idempotency-Key` (Stripe's idempotent requests): a key is claimed
 * (`in_progress`) before the request runs and completed (`done`) with its response after.
 */
import type { Mode } from '../domain/payment-request.js';
import type { IdempotencyKeyTable } from './schema.js';
import type { Tx } from './store.js';

/** A stored idempotency record. */
export type IdempotencyRecord = IdempotencyKeyTable;

/**
 * Claims `key` for a request with `requestHash`. A record older than `expiredBefore` (epoch
 * ms) no longer counts: keys are kept for a retention period, then the key is free again.
 * @returns undefined when the claim is new (the caller runs the request), else the existing record.
 */
export async function claimIdempotencyKey(tx: Tx, orgId: string, mode: Mode, key: string, requestHash: string, now: number, expiredBefore: number): Promise<IdempotencyRecord | undefined> {
  await tx.db.deleteFrom('idempotency_keys').where('org_id', '=', orgId).where('mode', '=', mode).where('key', '=', key).where('created_at', '<', expiredBefore).execute();
  const inserted = await tx.db
    .insertInto('idempotency_keys')
    .values({ org_id: orgId, mode, key, request_hash: requestHash, state: 'in_progress', response_status: null, response_body: null, created_at: now })
    .onConflict((oc) => oc.columns(['org_id', 'mode', 'key']).doNothing())
    .executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return undefined;
  return tx.db.selectFrom('idempotency_keys').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('key', '=', key).executeTakeFirst();
}

/** Stores the response for a claimed key. */
export async function completeIdempotencyKey(tx: Tx, orgId: string, mode: Mode, key: string, status: number, body: string): Promise<void> {
  await tx.db
    .updateTable('idempotency_keys')
    .set({ state: 'done', response_status: status, response_body: body })
    .where('org_id', '=', orgId)
    .where('mode', '=', mode)
    .where('key', '=', key)
    .execute();
}

/** Releases a claimed key whose request failed on the server (a 5xx), so that a retry runs again. */
export async function releaseIdempotencyKey(tx: Tx, orgId: string, mode: Mode, key: string): Promise<void> {
  await tx.db.deleteFrom('idempotency_keys').where('org_id', '=', orgId).where('mode', '=', mode).where('key', '=', key).where('state', '=', 'in_progress').execute();
}
