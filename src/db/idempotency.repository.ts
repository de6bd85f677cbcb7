/**
 * Stored responses for `Idempotency-Key` (Stripe's idempotent requests). An attempt claims the
 * key (`in_progress`, with a token of its own and a lease), and completes it (`done`, with its
 * response) in the same transaction as its effect, so that the key's answer and the effect
 * commit together or not at all. A claim whose lease has passed was left by an attempt that
 * never finished (its process died): a retry takes it over. Completing and releasing compare
 * the token, so an attempt whose claim was taken over can no longer commit.
 */
import type { Mode } from '../domain/payment-request.js';
import type { IdempotencyKeyTable } from './schema.js';
import type { Tx } from './store.js';

/** A stored idempotency record. */
export type IdempotencyRecord = IdempotencyKeyTable;

/** A new claim: who holds it and until when. */
export interface IdempotencyClaim {
  /** The claiming attempt's token (random, unique per attempt). */
  token: string;
  /** SHA-256 hex of the method, URL and body: a retry must match it. */
  requestHash: string;
  /** Now, epoch ms. */
  now: number;
  /** Until when the claim is held, epoch ms: after it, a retry may take the key over. */
  lockedUntil: number;
  /** Records created before this (epoch ms) no longer count: the key is free again (24 hours of retention). */
  expiredBefore: number;
}

/**
 * Claims `key`. A record older than the retention period, or an `in_progress` claim whose lease
 * has passed (or that has none: left from before claims lapsed), is removed first.
 * @returns undefined when the claim is this attempt's (the caller runs the request), else the
 *   existing record (done, or held by a live attempt).
 */
export async function claimIdempotencyKey(tx: Tx, orgId: string, mode: Mode, key: string, claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined> {
  await tx.db
    .deleteFrom('idempotency_keys')
    .where('org_id', '=', orgId)
    .where('mode', '=', mode)
    .where('key', '=', key)
    .where((eb) =>
      eb.or([
        eb('created_at', '<', claim.expiredBefore),
        eb.and([eb('state', '=', 'in_progress'), eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', claim.now)])]),
      ]),
    )
    .execute();
  const inserted = await tx.db
    .insertInto('idempotency_keys')
    .values({ org_id: orgId, mode, key, request_hash: claim.requestHash, state: 'in_progress', response_status: null, response_body: null, created_at: claim.now, claim_token: claim.token, locked_until: claim.lockedUntil })
    .onConflict((oc) => oc.columns(['org_id', 'mode', 'key']).doNothing())
    .executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return undefined;
  const row = await tx.db.selectFrom('idempotency_keys').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('key', '=', key).executeTakeFirst();
  return row && { ...row, created_at: Number(row.created_at), locked_until: row.locked_until === null ? null : Number(row.locked_until) };
}

/**
 * Stores the response of the attempt holding `token`, in the caller's transaction (the one
 * with the effect, when there is one).
 * @returns false when the claim is no longer this attempt's (its lease passed and a retry took
 *   the key over): the caller must not commit its effect.
 */
export async function completeIdempotencyKey(tx: Tx, orgId: string, mode: Mode, key: string, token: string, status: number, body: string): Promise<boolean> {
  const result = await tx.db
    .updateTable('idempotency_keys')
    .set({ state: 'done', response_status: status, response_body: body, claim_token: null, locked_until: null })
    .where('org_id', '=', orgId)
    .where('mode', '=', mode)
    .where('key', '=', key)
    .where('state', '=', 'in_progress')
    .where('claim_token', '=', token)
    .executeTakeFirst();
  return (result.numUpdatedRows ?? 0n) > 0n;
}

/** Releases the claim of the attempt holding `token` (its request failed on the server, a 5xx), so that a retry runs again. */
export async function releaseIdempotencyKey(tx: Tx, orgId: string, mode: Mode, key: string, token: string): Promise<void> {
  await tx.db.deleteFrom('idempotency_keys').where('org_id', '=', orgId).where('mode', '=', mode).where('key', '=', key).where('state', '=', 'in_progress').where('claim_token', '=', token).execute();
}
