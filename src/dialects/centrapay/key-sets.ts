/**
 * The key sets (JWKS, RFC 7517) of `centrapay` webhook endpoints, one per endpoint, kept in
 * memory. A key set is derived from the endpoint's sealed private keys (open the seal, take the
 * public half, compute its RFC 7638 thumbprint), which costs far more than a read; it is derived
 * once and again only when the keys change.
 *
 * Whether a cached set is current is learnt from the database on every use, with one read of the
 * endpoint's row by its primary key that opens nothing: the sealed columns change on every write
 * of the row (each seal takes a fresh nonce), so a rotation, a disable, an enable or a delete
 * made by any process on the same database is seen by the next request here. Nothing is shared
 * between processes but the database, and nothing expires on a timer, except the previous key,
 * which leaves the answer when its overlap ends.
 */
import type { JWK } from 'jose';
import type { Deps } from '../../app/deps.js';
import { findSealedSigningSecretsOf, openSigningSecretsOf } from '../../app/webhook-endpoints.js';
import { publicJwkOf } from './webhook-format.js';

/** A key set as derived: the current key, and the previous one until its overlap ends (epoch ms). */
interface Derived {
  current: JWK;
  previous: { jwk: JWK; until: number } | null;
}

/** What a cached set was derived from (the sealed columns, compared as stored) and the derivation, shared by concurrent first requests. */
interface Entry {
  version: string;
  derived: Promise<Derived>;
}

/** How many endpoints' sets are kept; past it the longest-held is dropped (and derived again if asked for). */
const MAX_ENTRIES = 10_000;

/**
 * The per-endpoint key sets of one server. `keysOf(id)` answers the public keys that verify the
 * endpoint's notifications now: the current key, plus the previous one during a rotation's
 * overlap; none while the endpoint is disabled; undefined when there is no such undeleted
 * `centrapay` endpoint (any org or mode: a key set is public, the endpoint's id is what names it).
 * Each answer counts in `payreq_centrapay_key_sets_total` by whether the set was `cached` or
 * `derived`.
 */
export class CentrapayKeySets {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly deps: Deps) {}

  /**
   * The endpoint's public keys (JWKs with `kid`, `alg` ES256, `use` sig; never `d`).
   * @throws Error when the endpoint's secrets are sealed under a master key this server does not hold.
   */
  async keysOf(endpointId: string): Promise<JWK[] | undefined> {
    const sealed = await findSealedSigningSecretsOf(this.deps, endpointId);
    if (sealed === undefined || sealed.deleted || sealed.format !== 'centrapay') {
      this.entries.delete(endpointId);
      return undefined;
    }
    if (sealed.disabled) {
      this.entries.delete(endpointId);
      return [];
    }
    const version = `${sealed.secret} ${sealed.previousSecret ?? ''} ${sealed.previousSecretUntil ?? ''}`;
    let entry = this.entries.get(endpointId);
    const cached = entry?.version === version;
    if (entry === undefined || !cached) {
      const derive = async (): Promise<Derived> => {
        const { current, previous } = openSigningSecretsOf(this.deps, sealed);
        return { current: await publicJwkOf(current), previous: previous === null ? null : { jwk: await publicJwkOf(previous.secret), until: previous.until } };
      };
      const fresh: Entry = { version, derived: derive() };
      entry = fresh;
      this.entries.delete(endpointId);
      this.entries.set(endpointId, fresh);
      if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value as string);
      // A failed derivation is not kept: the next request tries again.
      fresh.derived.catch(() => {
        if (this.entries.get(endpointId) === fresh) this.entries.delete(endpointId);
      });
    }
    this.deps.metrics.centrapayKeySets.inc({ source: cached ? 'cached' : 'derived' });
    const { current, previous } = await entry.derived;
    return previous !== null && previous.until > this.deps.clock() ? [current, previous.jwk] : [current];
  }
}
