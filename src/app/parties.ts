/**
 * Parties: users (unique username and E.164 phone per org and mode) and legal entities
 * (businesses, with a merchant name and configuration). docs/api.md.
 */
import type { Party } from '../domain/entities.js';
import { DomainError, fieldError } from '../domain/errors.js';
import { allows } from '../domain/grants.js';
import { newId } from '../domain/ids.js';
import { normalizePhone } from '../domain/phone.js';
import { findParty, insertParty } from '../db/party.repository.js';
import { isUniqueViolation } from '../db/errors.js';
import { nextNumber } from '../db/number.repository.js';
import type { Deps, Principal } from './deps.js';

/** Input for {@link createParty}. `phone` is any form libphonenumber-js parses with a `+` country code; it is stored as E.164. */
export interface CreatePartyInput {
  type: 'user' | 'legal_entity';
  username?: string | undefined;
  phone?: string | undefined;
  email?: string | undefined;
  name?: string | undefined;
  merchant?: Record<string, unknown> | undefined;
  /** An explicit integer id (one kept from a provider such as DeltaPay); default: the next free one. */
  number?: number | undefined;
}

/**
 * Creates a party. Needs `accounts:manage` generally.
 * @throws DomainError `forbidden`, `validation_failed` (a user needs a username or phone; a legal
 *   entity needs a name), `invalid_phone`, `username_taken`, `phone_taken`, `number_taken`.
 */
export async function createParty(deps: Deps, principal: Principal, input: CreatePartyInput): Promise<Party> {
  if (!allows(principal.grants, 'accounts:manage', { accountIds: [], partyIds: [] })) {
    throw new DomainError('forbidden', 'this API key may not create parties (needs accounts:manage)');
  }
  if (input.type === 'user' && input.username === undefined && input.phone === undefined) {
    throw fieldError('username', 'a user needs a username or a phone');
  }
  if (input.type === 'legal_entity' && input.name === undefined) throw fieldError('name', 'a legal entity needs a name');
  const party: Party = {
    id: newId(),
    orgId: principal.orgId,
    mode: principal.mode,
    type: input.type,
    username: input.username ?? null,
    phone: input.phone === undefined ? null : normalizePhone(input.phone),
    email: input.email ?? null,
    name: input.name ?? null,
    merchant: input.merchant ?? null,
    number: 0,
    createdAt: deps.clock(),
  };
  try {
    await deps.store.transaction(async (tx) => {
      party.number = await nextNumber(tx, party.orgId, party.mode, 'party', input.number);
      await insertParty(tx, party);
    });
  } catch (err) {
    if (isUniqueViolation(err, 'username')) throw fieldError('username', `username "${party.username}" is taken`, 'username_taken');
    if (isUniqueViolation(err, 'phone')) throw fieldError('phone', `phone ${party.phone} is taken`, 'phone_taken');
    if (isUniqueViolation(err, 'number')) throw fieldError('number', `number ${party.number} is taken`, 'number_taken');
    throw err;
  }
  return party;
}

/**
 * Reads a party. Visible with `accounts:manage` or any grant scoped to the party.
 * @throws DomainError `party_not_found` when it does not exist or is not visible.
 */
export async function getParty(deps: Deps, principal: Principal, id: string): Promise<Party> {
  const party = await findParty(deps.store, principal.orgId, principal.mode, { id });
  if (!party || !canSeeParty(principal, party.id)) throw new DomainError('party_not_found', `party ${id} does not exist`);
  return party;
}

/**
 * Reads a party by its per-org `number` (DeltaPay's `user_id` / `legal_entity_id`).
 * @throws DomainError `party_not_found` when no visible party has that number.
 */
export async function getPartyByNumber(deps: Deps, principal: Principal, number: number): Promise<Party> {
  const party = await findParty(deps.store, principal.orgId, principal.mode, { number });
  if (!party || !canSeeParty(principal, party.id)) throw new DomainError('party_not_found', `party ${number} does not exist`);
  return party;
}

/** True when the principal may see the party: `accounts:manage` over it, or any grant naming it. */
export function canSeeParty(principal: Principal, partyId: string): boolean {
  return allows(principal.grants, 'accounts:manage', { accountIds: [], partyIds: [partyId] }) || principal.grants.some((g) => g.partyId === partyId);
}
