/** Orgs and API keys. Only the SHA-256 hash of a key's secret is stored. */
import { sql } from 'kysely';
import type { ApiKey } from '../domain/entities.js';
import type { Grant } from '../domain/grants.js';
import type { Mode } from '../domain/payment-request.js';
import type { ApiKeyRow } from './schema.js';
import { createNumberSequences } from './number.repository.js';
import { boxOf, type Db, type Tx } from './tx.js';

/** Maps a row to an {@link ApiKey}. */
export function rowToApiKey(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    name: row.name,
    prefix: row.prefix,
    grants: JSON.parse(row.grants) as Grant[],
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    lastUsedAt: row.last_used_at === null ? null : Number(row.last_used_at),
    hasSigningSecret: row.signing_secret !== null,
  };
}

/** Where a key's signing secret is sealed: its additional authenticated data (src/db/secrets.ts). */
function signingPlace(id: string): string {
  return `api_keys.signing_secret:${id}`;
}

/** Inserts a key with the hash of its secret, and its signing secret (sealed) when it has one. */
export async function insertApiKey(tx: Db, key: ApiKey, secretHash: string, signingSecret: string | null = null): Promise<void> {
  await tx.db
    .insertInto('api_keys')
    .values({
      id: key.id,
      org_id: key.orgId,
      mode: key.mode,
      name: key.name,
      prefix: key.prefix,
      secret_hash: secretHash,
      grants: JSON.stringify(key.grants),
      created_by: key.createdBy,
      created_at: key.createdAt,
      revoked_at: key.revokedAt,
      signing_secret: signingSecret === null ? null : boxOf(tx).seal(signingSecret, signingPlace(key.id)),
      expires_at: key.expiresAt,
      last_used_at: null,
    })
    .execute();
}

/**
 * The key whose secret hashes to `secretHash`, unrevoked and unexpired at `now` (epoch ms), with
 * its signing secret (null when none), or undefined.
 */
export async function findApiKeyByHash(tx: Db, secretHash: string, now: number): Promise<(ApiKey & { signingSecret: string | null }) | undefined> {
  const row = await tx.db
    .selectFrom('api_keys')
    .selectAll()
    .where('secret_hash', '=', secretHash)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  return row && { ...rowToApiKey(row), signingSecret: row.signing_secret === null ? null : boxOf(tx).open(row.signing_secret, signingPlace(row.id)) };
}

/** True when a key whose secret hashes to `secretHash` is stored, in any org and mode, revoked and expired ones included (secret hashes are unique). */
export async function secretHashStored(tx: Db, secretHash: string): Promise<boolean> {
  return (await tx.db.selectFrom('api_keys').select('id').where('secret_hash', '=', secretHash).executeTakeFirst()) !== undefined;
}

/** The key `id` of this org and mode (revoked and expired keys included), or undefined. */
export async function findApiKey(tx: Db, orgId: string, mode: Mode, id: string): Promise<ApiKey | undefined> {
  const row = await tx.db.selectFrom('api_keys').selectAll().where('id', '=', id).where('org_id', '=', orgId).where('mode', '=', mode).executeTakeFirst();
  return row && rowToApiKey(row);
}

/** This org's and mode's keys, newest first, after the `cursor` id when given: at most `limit` + 1 rows (the extra tells `hasMore`). */
export async function listApiKeys(tx: Db, orgId: string, mode: Mode, page: { limit: number; cursor?: string | undefined }): Promise<ApiKey[]> {
  let query = tx.db.selectFrom('api_keys').selectAll().where('org_id', '=', orgId).where('mode', '=', mode);
  if (page.cursor !== undefined) query = query.where('id', '<', page.cursor);
  return (await query.orderBy('id', 'desc').limit(page.limit + 1).execute()).map(rowToApiKey);
}

/**
 * This org's and mode's unrevoked keys (expired ones included), for a revocation to decide on.
 * On PostgreSQL the rows stay locked (`FOR UPDATE`, taken in id order) until the transaction
 * ends, so two revocations in one org and mode run one after the other and the second sees the
 * first's outcome (under READ COMMITTED a locked row is read again once its lock is released,
 * and drops out when it was revoked meanwhile). SQLite serializes writing transactions already.
 */
export async function lockUnrevokedApiKeys(tx: Tx, orgId: string, mode: Mode): Promise<ApiKey[]> {
  const rows = await tx.db
    .selectFrom('api_keys')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('mode', '=', mode)
    .where('revoked_at', 'is', null)
    .orderBy('id')
    .$if(tx.engine === 'postgres', (q) => q.forUpdate())
    .execute();
  return rows.map(rowToApiKey);
}

/** Revokes key `id` at `now` (epoch ms) unless it already is; answers the key as it is after. */
export async function revokeApiKey(tx: Db, orgId: string, mode: Mode, id: string, now: number): Promise<ApiKey | undefined> {
  await tx.db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('org_id', '=', orgId).where('mode', '=', mode).where('revoked_at', 'is', null).execute();
  return findApiKey(tx, orgId, mode, id);
}

/** Records that key `id` authenticated at `now` (epoch ms). */
export async function touchApiKey(tx: Db, id: string, now: number): Promise<void> {
  await tx.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
}

/** Every org, oldest first, with how many unrevoked keys it holds per mode. */
export async function listOrgs(tx: Db): Promise<{ id: string; name: string; createdAt: number; testKeys: number; liveKeys: number }[]> {
  const orgs = await tx.db.selectFrom('orgs').select(['id', 'name', 'created_at']).orderBy('created_at').orderBy('id').execute();
  const counts = await tx.db.selectFrom('api_keys').select(['org_id', 'mode', (eb) => eb.fn.countAll<string | number>().as('n')]).where('revoked_at', 'is', null).groupBy(['org_id', 'mode']).execute();
  const count = (org: string, mode: Mode) => Number(counts.find((c) => c.org_id === org && c.mode === mode)?.n ?? 0);
  return orgs.map((o) => ({ id: o.id, name: o.name, createdAt: Number(o.created_at), testKeys: count(o.id, 'test'), liveKeys: count(o.id, 'live') }));
}

/** True when org `id` exists. */
export async function orgExists(tx: Db, id: string): Promise<boolean> {
  return (await tx.db.selectFrom('orgs').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

/** The first org's id, or undefined on an empty database. */
export async function findFirstOrgId(tx: Db): Promise<string | undefined> {
  const row = await tx.db.selectFrom('orgs').select('id').orderBy('created_at').limit(1).executeTakeFirst();
  return row?.id;
}

/**
 * Inserts an org, with its payment request number sequences on PostgreSQL
 * ({@link createNumberSequences}). A {@link Db}: the use cases run it in the transaction that
 * creates the org's first key, but nothing breaks when the statements commit one by one (the
 * sequences are created idempotently, and an org without them is numbered by its counter row).
 */
export async function insertOrg(tx: Db, org: { id: string; name: string; createdAt: number }): Promise<void> {
  await tx.db.insertInto('orgs').values({ id: org.id, name: org.name, created_at: org.createdAt }).execute();
  await createNumberSequences(tx, org.id);
}

/**
 * Serializes bootstrapping across processes: on PostgreSQL a transaction-scoped advisory lock,
 * so that several processes starting on an empty database create one org between them.
 * SQLite serializes writers already.
 */
export async function lockBootstrap(tx: Tx): Promise<void> {
  if (tx.engine === 'postgres') await sql`select pg_advisory_xact_lock(${0x7061797265710001n})`.execute(tx.db);
}

/**
 * Reseals every signing secret that is plain text or sealed under a previous key, under `tx`'s
 * current key (at startup, as `resealEndpointSecrets`).
 * @returns how many were resealed.
 * @throws Error when one is sealed under a key the box does not hold.
 */
export async function resealSigningSecrets(tx: Tx): Promise<number> {
  const box = boxOf(tx);
  const rows = await tx.db.selectFrom('api_keys').select(['id', 'signing_secret']).where('signing_secret', 'is not', null).execute();
  let resealed = 0;
  for (const row of rows) {
    const sealed = box.reseal(row.signing_secret as string, signingPlace(row.id));
    if (sealed === undefined) continue;
    await tx.db.updateTable('api_keys').set({ signing_secret: sealed }).where('id', '=', row.id).execute();
    resealed++;
  }
  return resealed;
}

/** True when an unrevoked live-mode key exists: a server of this database needs a master key. */
export async function hasLiveKeys(tx: Db): Promise<boolean> {
  return (await tx.db.selectFrom('api_keys').select('id').where('mode', '=', 'live').where('revoked_at', 'is', null).limit(1).executeTakeFirst()) !== undefined;
}
