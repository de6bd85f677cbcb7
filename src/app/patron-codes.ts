/**
 * Patron codes (Centrapay, https://docs.centrapay.com/api/payment-requests): a payer party's code that a
 * merchant scans; a request created with `patronCodeId` is attached to that party (it becomes
 * the request's payer), and the party's app polls for the latest `new` request attached to any
 * of its codes.
 */
import type { PatronCode } from '../domain/entities.js';
import { DomainError } from '../domain/errors.js';
import { allows } from '../domain/grants.js';
import { isUuid, newId } from '../domain/ids.js';
import type { PaymentRequest } from '../domain/payment-request.js';
import { findAccount } from '../db/account.repository.js';
import { findParty } from '../db/party.repository.js';
import { insertPatronCode, listPatronCodes } from '../db/patron-code.repository.js';
import type { Deps, Principal } from './deps.js';
import { listPaymentRequests } from './payment-requests/read.js';

/** True when the key may hold patron codes for the party: `accounts:manage` or `payment_requests:pay` over it. */
function mayActFor(principal: Principal, partyId: string): boolean {
  const scope = { accountIds: [], partyIds: [partyId] };
  return allows(principal.grants, 'accounts:manage', scope) || allows(principal.grants, 'payment_requests:pay', scope);
}

/**
 * Issues a patron code for a party (usually a user who pays). Needs `accounts:manage` or
 * `payment_requests:pay` over the party.
 * @throws DomainError `party_not_found` (unknown or not visible).
 */
export async function createPatronCode(deps: Deps, principal: Principal, partyId: string): Promise<PatronCode> {
  const party = isUuid(partyId) ? await findParty(deps.store, principal.orgId, principal.mode, { id: partyId }) : undefined;
  if (!party || !mayActFor(principal, party.id)) throw new DomainError('party_not_found', `party ${partyId} does not exist`);
  const code: PatronCode = { id: newId(), orgId: principal.orgId, mode: principal.mode, partyId: party.id, createdAt: deps.clock() };
  // In a transaction, so that an idempotent request holds it and commits it with its stored answer (src/http/idempotency.ts).
  await deps.store.transaction((tx) => insertPatronCode(tx, code));
  return code;
}

/**
 * A party's patron codes, most recent first.
 * @throws DomainError `party_not_found` (unknown or not visible).
 */
export async function listPartyPatronCodes(deps: Deps, principal: Principal, partyId: string): Promise<PatronCode[]> {
  const party = isUuid(partyId) ? await findParty(deps.store, principal.orgId, principal.mode, { id: partyId }) : undefined;
  if (!party || !mayActFor(principal, party.id)) throw new DomainError('party_not_found', `party ${partyId} does not exist`);
  return listPatronCodes(deps.store, principal.orgId, principal.mode, [party.id]);
}

/**
 * The parties a key acts for: those its grants name, and the parties of the accounts they name.
 * A key without scoped grants acts for no party ("me" is a party-scoped key's own party).
 */
export async function partiesOfKey(deps: Deps, principal: Principal): Promise<string[]> {
  const ids = new Set<string>();
  for (const grant of principal.grants) {
    if (grant.partyId !== undefined) ids.add(grant.partyId);
    if (grant.accountId !== undefined) {
      const account = await findAccount(deps.store, principal.orgId, principal.mode, grant.accountId);
      if (account?.partyId) ids.add(account.partyId);
    }
  }
  return [...ids];
}

/**
 * The latest `pending` (Centrapay: `new`) request attached to any patron code of the parties
 * the key acts for, or undefined (Centrapay's `GET /api/me/patron-code-payment-request`).
 */
export async function latestPatronCodeRequest(deps: Deps, principal: Principal): Promise<PaymentRequest | undefined> {
  const codes = await listPatronCodes(deps.store, principal.orgId, principal.mode, await partiesOfKey(deps, principal));
  if (codes.length === 0) return undefined;
  const page = await listPaymentRequests(deps, principal, { status: 'pending', patronCodeIds: codes.map((c) => c.id) }, { limit: 1 });
  return page.data[0];
}
