/**
 * AlphaPo's signed creates seen in the last 24 hours (docs/dialects/alphapo.md, "Replays"). An
 * AlphaPo request carries no nonce or timestamp: its `X-Processing-Signature` is the HMAC-SHA512
 * of the body alone, so a create without `foreign_id` captured once could be sent again verbatim
 * and make another request. Payreq keeps a digest of each such signature, written in the same
 * transaction as the request it created, and refuses the same signature again within
 * {@link SIGNATURE_RETENTION_MS}. Only the digest is kept: the signature itself would let anyone
 * who reads the table send that body again once its digest expires.
 */
import { createHash } from 'node:crypto';
import type { Mode } from '../domain/payment-request.js';
import type { Db } from './tx.js';

/** How long a signature is remembered, in milliseconds (24 hours, as idempotency keys are kept). */
export const SIGNATURE_RETENTION_MS = 24 * 60 * 60 * 1000;

/** The stored digest of `signature` sent with API key `apiKeyId`: SHA-256 hex of both. */
export function signatureDigest(apiKeyId: string, signature: string): string {
  return createHash('sha256').update(`${apiKeyId}\n${signature.toLowerCase()}`).digest('hex');
}

/**
 * Records `digest` (from {@link signatureDigest}) for the org and mode at `now` (epoch ms), in
 * the transaction that creates the request; digests of that org and mode older than
 * {@link SIGNATURE_RETENTION_MS} are removed first.
 * @returns false when the digest was recorded within the retention period already (a replay):
 *   the caller must roll its transaction back.
 */
export async function recordSignature(tx: Db, orgId: string, mode: Mode, digest: string, now: number): Promise<boolean> {
  await tx.db.deleteFrom('alphapo_signatures').where('org_id', '=', orgId).where('mode', '=', mode).where('created_at', '<', now - SIGNATURE_RETENTION_MS).execute();
  const inserted = await tx.db
    .insertInto('alphapo_signatures')
    .values({ digest, org_id: orgId, mode, created_at: now })
    .onConflict((oc) => oc.column('digest').doNothing())
    .executeTakeFirst();
  return (inserted.numInsertedOrUpdatedRows ?? 0n) > 0n;
}
