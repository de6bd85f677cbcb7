/** Ledger accounts of parties: create, read with balance, close, and (test mode) fund. */
import { DomainError, fieldError } from '../domain/errors.js';
import { allows } from '../domain/grants.js';
import { newId } from '../domain/ids.js';
import { parseAmount } from '../domain/money.js';
import { type Account, findAccount, insertAccount, setAccountStatus, systemAccount } from '../db/account.repository.js';
import { findParty } from '../db/party.repository.js';
import { transfer } from '../rails/ledger.js';
import type { Deps, Principal } from './deps.js';

function scopeOf(account: Pick<Account, 'id' | 'partyId'>) {
  return { accountIds: [account.id], partyIds: [account.partyId] };
}

/** True when the principal may see the account: `accounts:manage` over it or its party, or any grant naming it. */
export function canSeeAccount(principal: Principal, account: Pick<Account, 'id' | 'partyId'>): boolean {
  return allows(principal.grants, 'accounts:manage', scopeOf(account)) || principal.grants.some((g) => g.accountId === account.id || (g.partyId !== undefined && g.partyId === account.partyId));
}

/**
 * Opens an account in `currency` for a party, with a zero balance.
 * @throws DomainError `forbidden`, `party_not_found`, `unknown_currency`.
 */
export async function createAccount(deps: Deps, principal: Principal, input: { partyId: string; currency: string }): Promise<Account> {
  deps.currencies.get(input.currency);
  return deps.store.transaction(async (tx) => {
    const party = await findParty(tx, principal.orgId, principal.mode, { id: input.partyId });
    if (!party) throw fieldError('partyId', `party ${input.partyId} does not exist`, 'party_not_found');
    if (!allows(principal.grants, 'accounts:manage', { accountIds: [], partyIds: [party.id] })) {
      throw new DomainError('forbidden', 'this API key may not open accounts for this party (needs accounts:manage)');
    }
    const now = deps.clock();
    const account: Account = { id: newId(), orgId: principal.orgId, mode: principal.mode, partyId: party.id, currency: input.currency, balance: 0n, status: 'open', systemPurpose: null, createdAt: now, updatedAt: now };
    await insertAccount(tx, account);
    return account;
  });
}

/**
 * Reads an account with its balance.
 * @throws DomainError `account_not_found` when it does not exist, is a system account, or is not visible.
 */
export async function getAccount(deps: Deps, principal: Principal, id: string): Promise<Account> {
  const account = await findAccount(deps.store, principal.orgId, principal.mode, id);
  if (!account || account.systemPurpose !== null || !canSeeAccount(principal, account)) throw new DomainError('account_not_found', `account ${id} does not exist`);
  return account;
}

/**
 * Closes an account: it can no longer pay or be paid (settlements fail with `account_closed`).
 * @throws DomainError `account_not_found`, `forbidden`.
 */
export async function closeAccount(deps: Deps, principal: Principal, id: string): Promise<Account> {
  const account = await getAccount(deps, principal, id);
  if (!allows(principal.grants, 'accounts:manage', scopeOf(account))) throw new DomainError('forbidden', 'this API key may not close this account (needs accounts:manage)');
  const now = deps.clock();
  await setAccountStatus(deps.store, id, 'closed', now);
  return { ...account, status: 'closed', updatedAt: now };
}

/**
 * Test mode only: credits `amount` (decimal string in the account's currency) from the system
 * funding account, which goes negative by as much (the ledger still sums to zero).
 * @throws DomainError `test_mode_only`, `account_not_found`, `forbidden`, `invalid_amount`, `account_closed`.
 */
export async function fundAccount(deps: Deps, principal: Principal, id: string, amountText: string): Promise<Account> {
  if (principal.mode !== 'test') throw new DomainError('test_mode_only', 'funding accounts is only possible in test mode');
  const account = await getAccount(deps, principal, id);
  if (!allows(principal.grants, 'accounts:manage', scopeOf(account))) throw new DomainError('forbidden', 'this API key may not fund this account (needs accounts:manage)');
  const amount = parseAmount(amountText, deps.currencies.get(account.currency).exponent);
  await deps.store.transaction(async (tx) => {
    const now = deps.clock();
    const funding = await systemAccount(tx, principal.orgId, principal.mode, account.currency, 'funding', now);
    await transfer(tx, {
      orgId: principal.orgId,
      mode: principal.mode,
      kind: 'fund',
      paymentRequestId: null,
      postings: [
        { accountId: funding.id, amount: -amount },
        { accountId: account.id, amount },
      ],
      now,
    });
  });
  return getAccount(deps, principal, id);
}
