/**
 * Stored responses for `Idempotency-Key` (Stripe's idempotent requests). A key belongs to the
 * API key that sent it (the credential, as Stripe scopes keys to the account and user): another
 * API key with the same `Idempotency-Key` has a record of its own and never sees this one's
 * answer. An attempt claims the key (`in_progress`, with a token of its own and a lease), and
 * completes it (`done`, with its response) in the same transaction as its effect, so that the
 * key's answer and the effect commit together or not at all. A claim whose lease has passed was
 * left by an attempt that never finished (its process died): a retry takes it over. Completing
 * and releasing compare the token, so an attempt whose claim was taken over can no longer commit.
 *
 * The stored response is sealed (src/db/secrets.ts) for its place, the org, mode, API key and
 * `Idempotency-Key` it answers: answers that show a secret once (an API key's secret, a signing
 * secret, a webhook endpoint's secret or private key) never sit in plain text in the database,
 * its write-ahead log or its backups (docs/api.md, "Idempotency keys").
 */
import type { Mode } from '../domain/payment-request.js';
import type { IdempotencyKeyTable } from './schema.js';
import { boxOf, type Db, type Tx } from './tx.js';

/**
 * How long a key and its stored answer are kept, in milliseconds (24 hours, as Stripe does):
 * after it the key is free again, and the record, with the secret an answer may show once, is
 * deleted ({@link deleteExpiredIdempotencyKeys}).
 */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** A stored idempotency record; `response_body` as the client saw it (opened). */
export type IdempotencyRecord = IdempotencyKeyTable;

/** Whose key it is: the org, mode and id of the API key that sent the `Idempotency-Key`. */
export interface IdempotencyOwner {
  orgId: string;
  mode: Mode;
  apiKeyId: string;
}

/** A new claim: who holds it and until when. */
export interface IdempotencyClaim {
  /** The claiming attempt's token (random, unique per attempt). */
  token: string;
  /** SHA-256 hex of the API key id, method, URL and body: a retry must match it. */
  requestHash: string;
  /** Now, epoch ms. */
  now: number;
  /** Until when the claim is held, epoch ms: after it, a retry may take the key over. */
  lockedUntil: number;
  /** Records created before this (epoch ms) no longer count: the key is free again (24 hours of retention). */
  expiredBefore: number;
}

/**
 * Where a stored response is sealed: its additional authenticated data, so that a sealed answer
 * copied to another key's row does not open. The `Idempotency-Key` comes last, as the only part
 * that may contain a colon.
 */
function responsePlace(owner: IdempotencyOwner, key: string): string {
  return `idempotency_keys.response_body:${owner.orgId}:${owner.mode}:${owner.apiKeyId}:${key}`;
}

/** The columns that name `owner`'s record of `key` (its primary key). */
function recordOf(owner: IdempotencyOwner, key: string) {
  return { org_id: owner.orgId, mode: owner.mode, api_key_id: owner.apiKeyId, key };
}

/**
 * Claims `key` for `owner`. A record older than the retention period, or an `in_progress` claim
 * whose lease has passed (or that has none), is removed first.
 * @returns undefined when the claim is this attempt's (the caller runs the request), else the
 *   existing record (done, with its response opened, or held by a live attempt).
 * @throws Error when the stored response does not open (sealed under a master key the server
 *   does not hold, or altered).
 */
export async function claimIdempotencyKey(tx: Db, owner: IdempotencyOwner, key: string, claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined> {
  await tx.db
    .deleteFrom('idempotency_keys')
    .where((eb) => eb.and(recordOf(owner, key)))
    .where((eb) =>
      eb.or([
        eb('created_at', '<', claim.expiredBefore),
        eb.and([eb('state', '=', 'in_progress'), eb.or([eb('locked_until', 'is', null), eb('locked_until', '<=', claim.now)])]),
      ]),
    )
    .execute();
  const inserted = await tx.db
    .insertInto('idempotency_keys')
    .values({
      ...recordOf(owner, key),
      request_hash: claim.requestHash,
      state: 'in_progress',
      response_status: null,
      response_body: null,
      created_at: claim.now,
      claim_token: claim.token,
      locked_until: claim.lockedUntil,
    })
    .onConflict((oc) => oc.columns(['org_id', 'mode', 'api_key_id', 'key']).doNothing())
    .executeTakeFirst();
  if ((inserted.numInsertedOrUpdatedRows ?? 0n) > 0n) return undefined;
  const row = await tx.db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where((eb) => eb.and(recordOf(owner, key)))
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    ...row,
    response_body: row.response_body === null ? null : boxOf(tx).open(row.response_body, responsePlace(owner, key)),
    created_at: Number(row.created_at),
    locked_until: row.locked_until === null ? null : Number(row.locked_until),
  };
}

/**
 * Stores the response (`body`, sealed) of the attempt holding `token`, in the caller's
 * transaction (the one with the effect, when there is one).
 * @returns false when the claim is no longer this attempt's (its lease passed and a retry took
 *   the key over): the caller must not commit its effect.
 * @throws Error when the store has no master key to seal with.
 */
export async function completeIdempotencyKey(tx: Db, owner: IdempotencyOwner, key: string, token: string, status: number, body: string): Promise<boolean> {
  const result = await tx.db
    .updateTable('idempotency_keys')
    .set({ state: 'done', response_status: status, response_body: boxOf(tx).seal(body, responsePlace(owner, key)), claim_token: null, locked_until: null })
    .where((eb) => eb.and(recordOf(owner, key)))
    .where('state', '=', 'in_progress')
    .where('claim_token', '=', token)
    .executeTakeFirst();
  return (result.numUpdatedRows ?? 0n) > 0n;
}

/**
 * Releases the claim of the attempt holding `token`, so that a retry runs again: its request
 * failed on the server (a 5xx), or was refused before it had any effect (a 4xx with nothing written).
 */
export async function releaseIdempotencyKey(tx: Db, owner: IdempotencyOwner, key: string, token: string): Promise<void> {
  await tx.db
    .deleteFrom('idempotency_keys')
    .where((eb) => eb.and(recordOf(owner, key)))
    .where('state', '=', 'in_progress')
    .where('claim_token', '=', token)
    .execute();
}

/**
 * Deletes every record created before `before` (epoch ms; the caller passes now minus
 * {@link IDEMPOTENCY_RETENTION_MS}), in any org, mode and API key: without it a record stayed
 * until its own key was sent again, that is for ever for most, and with it the sealed copy of
 * every secret ever shown once. Uses the `created_at` index.
 * @returns how many were deleted.
 */
export async function deleteExpiredIdempotencyKeys(tx: Db, before: number): Promise<number> {
  const result = await tx.db.deleteFrom('idempotency_keys').where('created_at', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Reseals every stored response sealed under a previous master key under `tx`'s current key (at
 * startup, as `resealEndpointSecrets`), so that rotation needs the old key no longer.
 * @returns how many were resealed.
 * @throws Error when one is sealed under a key the box does not hold.
 */
export async function resealIdempotencyResponses(tx: Tx): Promise<number> {
  const box = boxOf(tx);
  const rows = await tx.db.selectFrom('idempotency_keys').select(['org_id', 'mode', 'api_key_id', 'key', 'response_body']).where('response_body', 'is not', null).execute();
  let resealed = 0;
  for (const row of rows) {
    const owner: IdempotencyOwner = { orgId: row.org_id, mode: row.mode as Mode, apiKeyId: row.api_key_id };
    const sealed = box.reseal(row.response_body as string, responsePlace(owner, row.key));
    if (sealed === undefined) continue;
    await tx.db
      .updateTable('idempotency_keys')
      .set({ response_body: sealed })
      .where('org_id', '=', row.org_id)
      .where('mode', '=', row.mode)
      .where('api_key_id', '=', row.api_key_id)
      .where('key', '=', row.key)
      .execute();
    resealed++;
  }
  return resealed;
}
