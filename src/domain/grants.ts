/**
 * API-key permissions. A key carries grants `{permission, accountId?, partyId?}`: a grant with
 * neither id is general; with one it holds only for that account or party (DeltaPay: "either
 * generally or specifically for the account").
 */

/** Every permission a grant can name. `admin` implies every other one within its scope. */
export const PERMISSIONS = [
  'payment_requests:create',
  'payment_requests:read',
  'payment_requests:pay',
  'payment_requests:cancel',
  'payments:record',
  'payments:confirm',
  'refunds:create',
  'accounts:manage',
  'api_keys:manage',
  'webhooks:manage',
  'admin',
] as const;
/** A permission such as `payment_requests:create`. */
export type Permission = (typeof PERMISSIONS)[number];

/** One grant of an API key. */
export interface Grant {
  permission: Permission;
  accountId?: string | undefined;
  partyId?: string | undefined;
}

/** The accounts and parties a resource belongs to; a scoped grant holds when it names one of them. */
export interface Scope {
  accountIds: readonly (string | null | undefined)[];
  partyIds: readonly (string | null | undefined)[];
}

function isGeneral(grant: Grant): boolean {
  return grant.accountId === undefined && grant.partyId === undefined;
}

function coversScope(grant: Grant, scope: Scope): boolean {
  if (isGeneral(grant)) return true;
  return (
    (grant.accountId !== undefined && scope.accountIds.includes(grant.accountId)) ||
    (grant.partyId !== undefined && scope.partyIds.includes(grant.partyId))
  );
}

function grantsPermission(grant: Grant, permission: Permission): boolean {
  return grant.permission === permission || grant.permission === 'admin';
}

/** True when some grant gives `permission` over `scope`. */
export function allows(grants: readonly Grant[], permission: Permission, scope: Scope): boolean {
  return grants.some((g) => grantsPermission(g, permission) && coversScope(g, scope));
}

/** True when some grant gives `permission` generally (no account or party). */
export function allowsGenerally(grants: readonly Grant[], permission: Permission): boolean {
  return grants.some((g) => grantsPermission(g, permission) && isGeneral(g));
}

/** The permissions that let a key see a payment request: reading, and every action on one. */
export const PAYMENT_REQUEST_VISIBILITY: readonly Permission[] = [
  'payment_requests:read',
  'payment_requests:create',
  'payment_requests:pay',
  'payment_requests:cancel',
  'payments:record',
  'payments:confirm',
  'refunds:create',
];

/**
 * What a key may see of payment requests: `all` with a general grant of any visibility
 * permission, else the account and party ids its scoped grants name.
 */
export function paymentRequestVisibility(grants: readonly Grant[]): 'all' | { accountIds: string[]; partyIds: string[] } {
  const relevant = grants.filter((g) => PAYMENT_REQUEST_VISIBILITY.some((p) => grantsPermission(g, p)));
  if (relevant.some(isGeneral)) return 'all';
  return {
    accountIds: relevant.flatMap((g) => (g.accountId === undefined ? [] : [g.accountId])),
    partyIds: relevant.flatMap((g) => (g.partyId === undefined ? [] : [g.partyId])),
  };
}

/** True when some grant of `grants` lets a key see a resource in `scope`. */
export function canSee(grants: readonly Grant[], scope: Scope): boolean {
  return PAYMENT_REQUEST_VISIBILITY.some((p) => allows(grants, p, scope));
}

/**
 * True when `held` covers `wanted`: a key may only hand out what it holds itself (no
 * escalation). A general grant covers a scoped one of the same permission; `admin` covers all.
 */
export function grantCovers(held: readonly Grant[], wanted: Grant): boolean {
  return held.some(
    (g) =>
      grantsPermission(g, wanted.permission) &&
      (isGeneral(g) || (g.accountId !== undefined && g.accountId === wanted.accountId) || (g.partyId !== undefined && g.partyId === wanted.partyId)),
  );
}
