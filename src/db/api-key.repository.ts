/** Orgs and API keys. Only the SHA-256 hash of a key's secret is stored. */
import { sql } from 'kysely';
import type { Grant } from '../domain/grants.js';
import type { Mode } from '../domain/payment-request.js';
import type { ApiKeyRow } from './schema.js';
import { createNumberSequences } from './number.repository.js';
import type { Tx } from './store.js';

/** An API key without its secret. `prefix` is the first characters of the secret, for display. */
export interface ApiKey {
  id: string;
  orgId: string;
  mode: Mode;
  name: string | null;
  prefix: string;
  grants: Grant[];
  createdBy: string | null;
  createdAt: number;
  revokedAt: number | null;
  /** True when the key has a signing secret (AlphaPo's `X-Processing-Signature`). */
  hasSigningSecret: boolean;
}

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
    hasSigningSecret: row.signing_secret !== null,
  };
}

/** Inserts a key with the hash of its secret, and its signing secret when it has one. */
export async function insertApiKey(tx: Tx, key: ApiKey, secretHash: string, signingSecret: string | null = null): Promise<void> {
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
      signing_secret: signingSecret,
    })
    .execute();
}

/** The unrevoked key whose secret hashes to `secretHash`, with its signing secret (null when none), or undefined. */
export async function findApiKeyByHash(tx: Tx, secretHash: string): Promise<(ApiKey & { signingSecret: string | null }) | undefined> {
  const row = await tx.db.selectFrom('api_keys').selectAll().where('secret_hash', '=', secretHash).where('revoked_at', 'is', null).executeTakeFirst();
  return row && { ...rowToApiKey(row), signingSecret: row.signing_secret };
}

/** The first org's id, or undefined on an empty database. */
export async function findFirstOrgId(tx: Tx): Promise<string | undefined> {
  const row = await tx.db.selectFrom('orgs').select('id').orderBy('created_at').limit(1).executeTakeFirst();
  return row?.id;
}

/** Inserts an org, with its payment request number sequences on PostgreSQL ({@link createNumberSequences}). */
export async function insertOrg(tx: Tx, org: { id: string; name: string; createdAt: number }): Promise<void> {
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
