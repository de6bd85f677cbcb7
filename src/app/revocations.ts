/**
 * The API key revocations one server process has committed, counted. It is created with the
 * dependencies (src/server.ts `makeDeps`) and carried in `Deps.revocations`; `authenticateKey`
 * (src/app/api-keys.ts) checks every auth cache of the process (`/v1`'s and each dialect's)
 * against it, so that a key revoked through any scope stops authenticating in every one at once.
 * Other processes learn of a revocation from the database, within the caches' TTL.
 */
export class Revocations {
  private made = 0;

  /** How many revocations this process has committed so far (0 at start). */
  get count(): number {
    return this.made;
  }

  /**
   * Notes a revocation, once it has committed: every cache entry made from a lookup that started
   * before it is no longer served.
   */
  committed(): void {
    this.made++;
  }
}
