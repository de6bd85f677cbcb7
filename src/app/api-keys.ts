/**
 * Orgs and API keys: bootstrapping an empty database, authenticating a bearer secret, and
 * issuing keys. Secrets look like `prq_test_<32 base62>` / `prq_live_…`; only their SHA-256
 * hex digest is stored.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKey } from '../domain/entities.js';
import { DomainError } from '../domain/errors.js';
import { allowsGenerally, type Grant, grantCovers } from '../domain/grants.js';
import { newId } from '../domain/ids.js';
import type { Mode } from '../domain/payment-request.js';
import { findApiKey, findApiKeyByHash, findFirstOrgId, insertApiKey, insertOrg, listApiKeys, listOrgs, lockBootstrap, lockUnrevokedApiKeys, orgExists, revokeApiKey, secretHashStored, touchApiKey } from '../db/api-key.repository.js';
import { findAccount } from '../db/account.repository.js';
import { findParty } from '../db/party.repository.js';
import { boxOf, type Db } from '../db/store.js';
import type { Deps, Principal } from './deps.js';
import { type Page, toPage } from './pagination.js';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SECRET = /^prq_(live|test)_[0-9A-Za-z]{16,128}$/;

/** The SHA-256 hex digest of a secret, as stored. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function base62(length: number): string {
  let body = '';
  for (const b of randomBytes(length)) body += BASE62[b % 62];
  return body;
}

/** A new secret for `mode`: `prq_<mode>_` and 32 base62 characters (≈190 bits). */
export function generateSecret(mode: Mode): string {
  return `prq_${mode}_${base62(32)}`;
}

/**
 * A new signing secret (AlphaPo's "secret key", the HMAC-SHA512 key of
 * `X-Processing-Signature`): `prqsk_<mode>_` and 40 base62 characters (≈238 bits).
 */
export function generateSigningSecret(mode: Mode): string {
  return `prqsk_${mode}_${base62(40)}`;
}

/** The mode a secret belongs to, or undefined when it is not a Payreq secret. */
export function modeOfSecret(secret: string): Mode | undefined {
  const match = SECRET.exec(secret);
  return match ? (match[1] as Mode) : undefined;
}

/**
 * Refuses live mode in a process whose master key was generated and is kept beside the data
 * (test mode without `PAYREQ_SECRET_KEY`, src/secret-key.ts): live-mode secrets sealed with it
 * would be as open as the database, and a server of a database holding live-mode keys refuses
 * to start without the variable.
 * @throws DomainError `live_mode_unavailable` for a live mode in such a process.
 */
function requireLiveSealing(tx: Db, mode: Mode): void {
  if (mode === 'live' && boxOf(tx).generated) {
    throw new DomainError('live_mode_unavailable', 'this server has no PAYREQ_SECRET_KEY, so it refuses live-mode keys and secrets: set PAYREQ_SECRET_KEY on every server of this database and restart them (README: secrets at rest)');
  }
}

async function storeKey(tx: Db, key: ApiKey, secret: string, signingSecret: string | null = null): Promise<void> {
  requireLiveSealing(tx, key.mode);
  await insertApiKey(tx, key, hashSecret(secret), signingSecret);
}

/**
 * On an empty database, creates one org and its admin key (docs/api.md).
 * @param bootstrapSecret - `PAYREQ_BOOTSTRAP_API_KEY`: becomes the admin key in its mode; when
 *   absent, a test-mode admin key is generated.
 * @returns the org id, and the generated secret when one was made (to print once);
 *   `bootstrapKeyRetired` when the bootstrap secret is a key that was revoked or has expired: it
 *   is not added again, so that a revocation holds across restarts (the server warns).
 * @throws DomainError `validation_failed` when the bootstrap secret is not `prq_test_…`/`prq_live_…`.
 */
export async function bootstrap(deps: Pick<Deps, 'store' | 'clock'>, bootstrapSecret: string | undefined): Promise<{ orgId: string; generatedSecret?: string; created: boolean; bootstrapKeyRetired?: true }> {
  if (bootstrapSecret !== undefined && modeOfSecret(bootstrapSecret) === undefined) {
    throw new DomainError('validation_failed', 'PAYREQ_BOOTSTRAP_API_KEY must be prq_test_ or prq_live_ followed by 16 to 128 letters and digits');
  }
  return deps.store.transaction(async (tx) => {
    await lockBootstrap(tx);
    const now = deps.clock();
    const existing = await findFirstOrgId(tx);
    if (existing !== undefined) {
      if (bootstrapSecret === undefined) return { orgId: existing, created: false };
      const hash = hashSecret(bootstrapSecret);
      if (!(await secretHashStored(tx, hash))) {
        await storeKey(tx, adminKey(existing, bootstrapSecret, now), bootstrapSecret);
        return { orgId: existing, created: false };
      }
      // Revoked or expired: it stays so. Adding it again would undo the revocation (and its
      // hash is taken: the insert would fail and the server would not start).
      return (await findApiKeyByHash(tx, hash, now)) ? { orgId: existing, created: false } : { orgId: existing, created: false, bootstrapKeyRetired: true };
    }
    const orgId = newId();
    await insertOrg(tx, { id: orgId, name: 'default', createdAt: now });
    const secret = bootstrapSecret ?? generateSecret('test');
    await storeKey(tx, adminKey(orgId, secret, now), secret);
    return bootstrapSecret === undefined ? { orgId, generatedSecret: secret, created: true } : { orgId, created: true };
  });
}

function adminKey(orgId: string, secret: string, now: number): ApiKey {
  return { id: newId(), orgId, mode: modeOfSecret(secret) as Mode, name: 'admin', prefix: secret.slice(0, 14), grants: [{ permission: 'admin' }], createdBy: null, createdAt: now, revokedAt: null, expiresAt: null, lastUsedAt: null, hasSigningSecret: false };
}

/**
 * Creates an org with a test-mode admin key, and a live-mode one when `options.live` (default; `payreq
 * orgs create`): one server can host several orgs, a platform and its merchants (docs/api.md).
 * The command asks for the live key only with `PAYREQ_SECRET_KEY` set: a database holding a
 * live-mode key needs it on every server (README, "Secrets at rest").
 * @param name - the org's name, 1 to 200 characters.
 * @returns the org's id and its secrets (shown once; only their hashes are stored); `liveSecret`
 *   only when asked for.
 * @throws DomainError `validation_failed` when the name is empty or too long.
 */
export async function createOrg(deps: Pick<Deps, 'store' | 'clock'>, name: string, options: { live: boolean } = { live: true }): Promise<{ orgId: string; testSecret: string; liveSecret?: string }> {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 200) throw new DomainError('validation_failed', 'an org name is 1 to 200 characters');
  return deps.store.transaction(async (tx) => {
    const now = deps.clock();
    const orgId = newId();
    await insertOrg(tx, { id: orgId, name: trimmed, createdAt: now });
    const testSecret = generateSecret('test');
    await storeKey(tx, adminKey(orgId, testSecret, now), testSecret);
    if (!options.live) return { orgId, testSecret };
    const liveSecret = generateSecret('live');
    await storeKey(tx, adminKey(orgId, liveSecret, now), liveSecret);
    return { orgId, testSecret, liveSecret };
  });
}

/**
 * Issues a key to org `orgId` in `mode` by the operator, against the database (`payreq orgs
 * add-key`): the way back in for an org whose key managers are all lost or expired. No calling
 * key's grants limit it; scoped grants must still name an account or party of that org and mode.
 * @param input.grants - the key's grants (the command's default: `admin`).
 * @returns the key and its secret (shown once; only its hash is stored).
 * @throws DomainError `validation_failed` when the org does not exist, `invalid_grant`.
 */
export async function issueOrgKey(deps: Pick<Deps, 'store' | 'clock'>, input: { orgId: string; mode: Mode; grants: Grant[]; name?: string | undefined }): Promise<{ key: ApiKey; secret: string }> {
  return deps.store.transaction(async (tx) => {
    if (!(await orgExists(tx, input.orgId))) throw new DomainError('validation_failed', `no org ${input.orgId} on this database (payreq orgs list)`);
    await checkGrants(tx, input.orgId, input.mode, input.grants, undefined);
    const secret = generateSecret(input.mode);
    const key = newKey(input.orgId, input.mode, secret, input.name ?? null, input.grants, null, deps.clock(), null, false);
    await storeKey(tx, key, secret);
    return { key, secret };
  });
}

/** Every org on this database, oldest first, with its count of unrevoked keys per mode (`payreq orgs list`). */
export function listAllOrgs(deps: Pick<Deps, 'store'>): Promise<{ id: string; name: string; createdAt: number; testKeys: number; liveKeys: number }[]> {
  return listOrgs(deps.store);
}

/**
 * How long an authenticated key is remembered by a process, in milliseconds. A key revoked (or
 * expired) in another process stops authenticating here within this time; issue 12 asks for at
 * most a second. In the process that revokes it, at once.
 */
export const AUTH_CACHE_TTL_MS = 750;
const AUTH_CACHE_SIZE = 10_000;

/**
 * A per-process cache of authenticated keys by secret hash, so that a busy client does not cost
 * a key lookup per request. Entries live {@link AUTH_CACHE_TTL_MS} (less when the key expires
 * sooner), and none survives a revocation in this process: each entry keeps the count of the
 * process's revocations (`Deps.revocations`, src/app/revocations.ts) it was read under, and is
 * served only while that count stands. Unknown keys are not cached.
 */
export class AuthCache {
  private readonly entries = new Map<string, { key: AuthenticatedKey; until: number; revocations: number }>();

  /** The cached key for `hash` at `now` (epoch ms), when this process has made `revocations` revocations; or undefined. */
  get(hash: string, now: number, revocations: number): AuthenticatedKey | undefined {
    const entry = this.entries.get(hash);
    if (entry && entry.until > now && entry.revocations === revocations) return entry.key;
    if (entry) this.entries.delete(hash);
    return undefined;
  }

  /**
   * Remembers `key` from `now` (epoch ms) until the TTL passes or the key expires, as read when
   * this process had made `seen` revocations (the count taken before the lookup): a lookup that
   * read the key before a revocation committed, and ends after it, must not be served, so its
   * entry is tagged with the count it started from, not the current one.
   */
  set(hash: string, key: AuthenticatedKey, now: number, expiresAt: number | null, seen: number): void {
    if (this.entries.size >= AUTH_CACHE_SIZE) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(hash, { key, until: Math.min(now + AUTH_CACHE_TTL_MS, expiresAt ?? Infinity), revocations: seen });
  }
}

/** An authenticated key: its principal, and its signing secret (null when it has none). */
export interface AuthenticatedKey {
  principal: Principal;
  signingSecret: string | null;
}

/**
 * Resolves an API key secret to the key: the principal and the key's signing secret (AlphaPo's
 * dialect verifies request signatures with it). With a cache, a key seen in the last
 * {@link AUTH_CACHE_TTL_MS} ms is not looked up again.
 * @throws DomainError `unauthenticated` when the secret is malformed, unknown, revoked or expired;
 *   `live_mode_unavailable` for a live-mode key in a process without `PAYREQ_SECRET_KEY`.
 */
export async function authenticateKey(deps: Pick<Deps, 'store' | 'clock' | 'revocations'>, secret: string, cache?: AuthCache, now = deps.clock()): Promise<AuthenticatedKey> {
  if (modeOfSecret(secret) === undefined) throw new DomainError('unauthenticated', 'the API key is malformed');
  const hash = hashSecret(secret);
  const cached = cache?.get(hash, now, deps.revocations.count);
  if (cached) return cached;
  const seen = deps.revocations.count;
  const key = await findApiKeyByHash(deps.store, hash, now);
  if (!key) throw new DomainError('unauthenticated', 'the API key is not valid (unknown, revoked or expired)');
  requireLiveSealing(deps.store, key.mode);
  // lastUsedAt: written on each lookup, so at most once per cache lifetime per process and key.
  await touchApiKey(deps.store, key.id, now);
  const authenticated: AuthenticatedKey = { principal: { keyId: key.id, orgId: key.orgId, mode: key.mode, grants: key.grants }, signingSecret: key.signingSecret };
  cache?.set(hash, authenticated, now, key.expiresAt, seen);
  return authenticated;
}

/**
 * Resolves a bearer secret to the calling principal ({@link authenticateKey} without the signing secret).
 * @throws DomainError `unauthenticated` when the secret is malformed, unknown or revoked.
 */
export async function authenticate(deps: Pick<Deps, 'store' | 'clock' | 'revocations'>, secret: string, cache?: AuthCache, now = deps.clock()): Promise<Principal> {
  return (await authenticateKey(deps, secret, cache, now)).principal;
}

/**
 * Issues a key in the caller's org and mode. The caller needs `api_keys:manage` (or `admin`)
 * and may only hand out grants it holds itself; scoped grants must name an account or party
 * of this org and mode. With `signingSecret: true` the key also gets a signing secret, the
 * HMAC-SHA512 key with which AlphaPo's dialect checks `X-Processing-Signature`.
 * @returns the key, its secret (shown once; only its hash is stored) and its signing secret
 *   when asked for (shown once).
 * @throws DomainError `forbidden`, `invalid_grant`; `live_mode_unavailable` (never met: a live key
 *   does not authenticate in a process without `PAYREQ_SECRET_KEY`).
 */
export async function createApiKey(
  deps: Deps,
  principal: Principal,
  input: { name?: string | undefined; grants: Grant[]; signingSecret?: boolean | undefined; expiresIn?: number | undefined },
): Promise<{ key: ApiKey; secret: string; signingSecret?: string }> {
  requireKeyManager(principal, 'create API keys');
  return deps.store.transaction(async (tx) => {
    await checkGrants(tx, principal.orgId, principal.mode, input.grants, principal.grants);
    const secret = generateSecret(principal.mode);
    const now = deps.clock();
    const key = newKey(principal.orgId, principal.mode, secret, input.name ?? null, input.grants, principal.keyId, now, input.expiresIn === undefined ? null : now + input.expiresIn * 1000, input.signingSecret === true);
    const signingSecret = input.signingSecret === true ? generateSigningSecret(principal.mode) : undefined;
    await storeKey(tx, key, secret, signingSecret ?? null);
    return signingSecret === undefined ? { key, secret } : { key, secret, signingSecret };
  });
}

/**
 * Checks grants to hand out in `orgId` and `mode`: each names an account or a party, not both;
 * each is covered by `held` (the issuing key's grants; undefined: the operator, unlimited); a
 * named account or party exists in that org and mode.
 * @throws DomainError `invalid_grant`, with the offending grant's path.
 */
async function checkGrants(tx: Db, orgId: string, mode: Mode, grants: readonly Grant[], held: readonly Grant[] | undefined): Promise<void> {
  for (const [i, grant] of grants.entries()) {
    if (grant.accountId !== undefined && grant.partyId !== undefined) {
      throw new DomainError('invalid_grant', 'a grant names an account or a party, not both', { errors: [{ path: `grants.${i}`, message: 'name accountId or partyId, not both' }] });
    }
    if (held !== undefined && !grantCovers(held, grant)) {
      throw new DomainError('invalid_grant', `this API key cannot grant ${grant.permission} it does not hold`, { errors: [{ path: `grants.${i}.permission`, message: 'not held by the calling key' }] });
    }
    if (grant.accountId !== undefined && !(await findAccount(tx, orgId, mode, grant.accountId))) {
      throw new DomainError('invalid_grant', `account ${grant.accountId} does not exist`, { errors: [{ path: `grants.${i}.accountId`, message: 'no such account' }] });
    }
    if (grant.partyId !== undefined && !(await findParty(tx, orgId, mode, { id: grant.partyId }))) {
      throw new DomainError('invalid_grant', `party ${grant.partyId} does not exist`, { errors: [{ path: `grants.${i}.partyId`, message: 'no such party' }] });
    }
  }
}

/** A new key's record (`expiresAt` epoch ms or null), its prefix taken from its secret. */
function newKey(orgId: string, mode: Mode, secret: string, name: string | null, grants: readonly Grant[], createdBy: string | null, now: number, expiresAt: number | null, hasSigningSecret: boolean): ApiKey {
  return {
    id: newId(),
    orgId,
    mode,
    name,
    prefix: secret.slice(0, 14),
    grants: grants.map((g) => ({ permission: g.permission, ...(g.accountId === undefined ? {} : { accountId: g.accountId }), ...(g.partyId === undefined ? {} : { partyId: g.partyId }) })),
    createdBy,
    createdAt: now,
    revokedAt: null,
    expiresAt,
    lastUsedAt: null,
    hasSigningSecret,
  };
}

function requireKeyManager(principal: Principal, what: string): void {
  if (!principal.grants.some((g) => (g.permission === 'api_keys:manage' || g.permission === 'admin') && g.accountId === undefined && g.partyId === undefined)) {
    throw new DomainError('forbidden', `this API key may not ${what} (needs api_keys:manage)`);
  }
}

/**
 * Lists the caller's org's keys in its mode, newest first, with `lastUsedAt`, `expiresAt` and
 * `revokedAt` (never a secret).
 * @throws DomainError `forbidden` without `api_keys:manage`, `invalid_cursor`.
 */
export async function listApiKeysOf(deps: Deps, principal: Principal, page: { limit: number; cursor?: string | undefined }): Promise<Page<ApiKey>> {
  requireKeyManager(principal, 'list API keys');
  return toPage(await listApiKeys(deps.store, principal.orgId, principal.mode, page), page.limit);
}

/** True when `key` can manage keys (`api_keys:manage` or `admin`, held generally) and still authenticates at `now` (epoch ms). */
function managesKeysAt(key: ApiKey, now: number): boolean {
  return allowsGenerally(key.grants, 'api_keys:manage') && (key.expiresAt === null || key.expiresAt > now);
}

/**
 * True when `key` authenticates at least as long as `other` (`expiresAt` epoch ms, null: never
 * expires). A manager that expires sooner than the one revoked would leave the org without one
 * at its expiry: a second later, say, with nobody able to act before.
 */
function lastsAsLongAs(key: ApiKey, other: ApiKey): boolean {
  return key.expiresAt === null || (other.expiresAt !== null && key.expiresAt >= other.expiresAt);
}

/**
 * Revokes a key of the caller's org and mode at once: this process stops accepting it
 * immediately, every other within {@link AUTH_CACHE_TTL_MS}. Revoking a revoked key answers it
 * unchanged. A key may revoke itself.
 *
 * Two rules (docs/api.md, "API keys: expiry, revocation, last use"):
 * - the caller may only revoke a key whose every grant its own grants cover, the rule
 *   {@link createApiKey} applies to the grants it hands out: a scoped or lesser key manager
 *   cannot revoke an `admin` key;
 * - the org and mode keep at least one unrevoked, unexpired key that manages keys
 *   (`api_keys:manage` or `admin`, generally) and lasts at least as long as the revoked one
 *   (a revocation never brings the day the org loses its last manager nearer): revoking the
 *   last one would lock the org out of its own API, and so would leaving only a manager that
 *   expires in a second. Concurrent revocations are serialized on the org's and mode's key rows
 *   ({@link lockUnrevokedApiKeys}), so two managers revoking each other at once leave one.
 * @throws DomainError `forbidden` without `api_keys:manage`, or when the key holds a grant the
 *   caller's grants do not cover; `api_key_not_found`; `last_key_manager`.
 */
export async function revokeApiKeyOf(deps: Deps, principal: Principal, id: string): Promise<ApiKey> {
  requireKeyManager(principal, 'revoke API keys');
  const key = await deps.store.transaction(async (tx) => {
    const unrevoked = await lockUnrevokedApiKeys(tx, principal.orgId, principal.mode);
    const now = deps.clock();
    const target = unrevoked.find((k) => k.id === id) ?? (await findApiKey(tx, principal.orgId, principal.mode, id));
    if (!target) throw new DomainError('api_key_not_found', `no API key ${id}`);
    const uncovered = target.grants.find((g) => !grantCovers(principal.grants, g));
    if (uncovered !== undefined) {
      throw new DomainError('forbidden', `this API key may not revoke a key holding ${uncovered.permission}${uncovered.accountId === undefined ? '' : ` for account ${uncovered.accountId}`}${uncovered.partyId === undefined ? '' : ` for party ${uncovered.partyId}`}, which it does not hold itself`);
    }
    if (target.revokedAt !== null) return target;
    if (managesKeysAt(target, now) && !unrevoked.some((k) => k.id !== id && managesKeysAt(k, now) && lastsAsLongAs(k, target))) {
      throw new DomainError('last_key_manager', `API key ${id} is the last unrevoked key of this org in ${principal.mode} mode that can manage keys${target.expiresAt === null ? ' and never expires' : ` until ${new Date(target.expiresAt).toISOString()}`}: create another with api_keys:manage that lasts as long first (or, locked out, issue one with \`payreq orgs add-key\` on the server's database)`);
    }
    return revokeApiKey(tx, principal.orgId, principal.mode, id, now);
  });
  if (!key) throw new DomainError('api_key_not_found', `no API key ${id}`);
  deps.revocations.committed();
  return key;
}
