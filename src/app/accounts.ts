/**
 * Accounts of parties: ledger accounts (create, read with balance, close, and in test mode
 * fund) and wallet accounts, which name the party's own EVM address for a token and hold
 * nothing in Payreq (the EVM rail pays the address directly; Payreq holds no keys).
 */
import { getAddress, isAddress } from 'viem';
import type { Account } from '../domain/entities.js';
import { DomainError, fieldError, isDomainError } from '../domain/errors.js';
import { allows } from '../domain/grants.js';
import { newId } from '../domain/ids.js';
import { formatWireAmount, parseAmount } from '../domain/money.js';
import { findAccount, findAccountByNumber, findPartyAccounts, findWalletAccounts, insertAccount, lockAccount, setAccountStatus, systemAccount } from '../db/account.repository.js';
import { isUniqueViolation } from '../db/errors.js';
import { findParty, insertParty } from '../db/party.repository.js';
import { nextNumber } from '../db/number.repository.js';
import type { Tx } from '../db/store.js';
import { LedgerRace, transfer } from '../rails/ledger.js';
import type { Deps, Principal } from './deps.js';

function scopeOf(account: Pick<Account, 'id' | 'partyId'>) {
  return { accountIds: [account.id], partyIds: [account.partyId] };
}

/** True when the principal may see the account: `accounts:manage` over it or its party, or any grant naming it. */
export function canSeeAccount(principal: Principal, account: Pick<Account, 'id' | 'partyId'>): boolean {
  return allows(principal.grants, 'accounts:manage', scopeOf(account)) || principal.grants.some((g) => g.accountId === account.id || (g.partyId !== undefined && g.partyId === account.partyId));
}

/**
 * Checks an EVM address and returns it EIP-55 checksummed. Mixed case must be a valid
 * checksum; all lower or all upper case is accepted as is (viem's `isAddress`).
 * @param path - the JSON path reported in the error.
 * @throws DomainError `invalid_address`.
 */
export function checkAddress(value: string, path = 'address'): `0x${string}` {
  if (!isAddress(value)) throw fieldError(path, `${path} must be a 0x-prefixed 20-byte hex address with a valid EIP-55 checksum`, 'invalid_address');
  return getAddress(value);
}

/** True when the account is a wallet account (an EVM address; nothing held in the ledger). */
export function isWallet(account: Pick<Account, 'address'>): boolean {
  return account.address !== null;
}

/** Input for {@link createAccount}: with `address`, a wallet account for a token (docs/evm.md). */
export interface CreateAccountInput {
  partyId: string;
  currency: string;
  address?: string | undefined;
  /** An explicit integer id (one kept from a provider such as Pismo); default: the next free one. */
  number?: number | undefined;
}

/**
 * Opens an account in `currency` for a party: a ledger account with a zero balance, or, with
 * `address`, a wallet account receiving that token at the party's own address.
 * @throws DomainError `forbidden`, `party_not_found`, `unknown_currency`, `invalid_address`,
 *   `validation_failed` (an address for a fiat currency), `account_exists` (the org already has a
 *   wallet account for this address and currency), `number_taken`.
 */
export async function createAccount(deps: Deps, principal: Principal, input: CreateAccountInput): Promise<Account> {
  const currency = deps.currencies.get(input.currency);
  let address: string | null = null;
  if (input.address !== undefined) {
    if (currency.kind !== 'token') throw fieldError('address', `a wallet account holds a token; ${currency.code} is a fiat currency`);
    address = checkAddress(input.address);
  }
  return deps.store.transaction(async (tx) => {
    const party = await findParty(tx, principal.orgId, principal.mode, { id: input.partyId });
    if (!party) throw fieldError('partyId', `party ${input.partyId} does not exist`, 'party_not_found');
    if (!allows(principal.grants, 'accounts:manage', { accountIds: [], partyIds: [party.id] })) {
      throw new DomainError('forbidden', 'this API key may not open accounts for this party (needs accounts:manage)');
    }
    return insertPartyAccount(tx, principal, party.id, currency.code, address, deps.clock(), input.number);
  });
}

async function insertPartyAccount(tx: Tx, principal: Principal, partyId: string, currency: string, address: string | null, now: number, explicit?: number): Promise<Account> {
  const number = await nextNumber(tx, principal.orgId, principal.mode, 'account', explicit);
  const account: Account = { id: newId(), orgId: principal.orgId, mode: principal.mode, partyId, currency, balance: 0n, status: 'open', systemPurpose: null, address, number, createdAt: now, updatedAt: now };
  try {
    await insertAccount(tx, account);
  } catch (err) {
    if (isUniqueViolation(err, 'address')) throw fieldError('address', `a wallet account for ${address} in ${currency} already exists`, 'account_exists');
    if (isUniqueViolation(err, 'number')) throw fieldError('number', `account number ${number} is taken`, 'number_taken');
    throw err;
  }
  return account;
}

/**
 * The wallet account for `address` in `currency`, created when the org has none: Request
 * Network's `payee` is a bare address. A new one joins the party that already owns a wallet
 * account at that address, or a new legal entity named by the address.
 * Needs `accounts:manage` generally to create.
 * @throws DomainError `invalid_address`, `unknown_currency`, `validation_failed` (a fiat currency), `forbidden`.
 */
export async function findOrCreateWalletAccount(deps: Deps, principal: Principal, input: { address: string; currency: string; path?: string }): Promise<Account> {
  const currency = deps.currencies.get(input.currency);
  if (currency.kind !== 'token') throw fieldError(input.path ?? 'currency', `a wallet account holds a token; ${currency.code} is a fiat currency`);
  const address = checkAddress(input.address, input.path);
  const find = async () => (await findWalletAccounts(deps.store, principal.orgId, principal.mode, { address, currency: currency.code }))[0];
  const existing = await find();
  if (existing) return existing;
  if (!allows(principal.grants, 'accounts:manage', { accountIds: [], partyIds: [] })) {
    throw new DomainError('forbidden', 'this API key may not create wallet accounts (needs accounts:manage)');
  }
  try {
    return await deps.store.transaction(async (tx) => {
      const now = deps.clock();
      let partyId = (await findWalletAccounts(tx, principal.orgId, principal.mode, { address }))[0]?.partyId ?? null;
      if (partyId === null) {
        partyId = newId();
        const number = await nextNumber(tx, principal.orgId, principal.mode, 'party');
        await insertParty(tx, { id: partyId, orgId: principal.orgId, mode: principal.mode, type: 'legal_entity', username: null, phone: null, email: null, name: address, merchant: null, number, createdAt: now });
      }
      return insertPartyAccount(tx, principal, partyId, currency.code, address, now);
    });
  } catch (err) {
    // Another request created it at the same moment: use theirs.
    const raced = isDomainError(err, 'account_exists') ? await find() : undefined;
    if (raced) return raced;
    throw err;
  }
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

/** True when the key may see the account or request payments into it (`payment_requests:create` over it or its party). */
export function mayRequestInto(principal: Principal, account: Pick<Account, 'id' | 'partyId'>): boolean {
  return canSeeAccount(principal, account) || allows(principal.grants, 'payment_requests:create', scopeOf(account));
}

/**
 * A party's open accounts in `currency` that the key may see, oldest first: the dialects name a
 * merchant or a payer, not an account (AlphaPo's merchant, Centrapay's paying patron).
 */
export async function partyAccountsIn(deps: Deps, principal: Principal, partyId: string, currency: string): Promise<Account[]> {
  const accounts = await findPartyAccounts(deps.store, principal.orgId, principal.mode, partyId, currency);
  return accounts.filter((a) => mayRequestInto(principal, a) || allows(principal.grants, 'payment_requests:pay', scopeOf(a)));
}

/** A party's wallet accounts that the key may see (every token, every network), oldest first. */
export async function partyWalletAccounts(deps: Deps, principal: Principal, partyId: string): Promise<Account[]> {
  const wallets = await findWalletAccounts(deps.store, principal.orgId, principal.mode, { partyId });
  return wallets.filter((a) => mayRequestInto(principal, a));
}

/**
 * Reads a party account by its per-org `number` (the dialects' integer account id).
 * @throws DomainError `account_not_found` when no visible party account has that number.
 */
export async function getAccountByNumber(deps: Deps, principal: Principal, number: number): Promise<Account> {
  const account = await findAccountByNumber(deps.store, principal.orgId, principal.mode, number);
  if (!account || account.systemPurpose !== null || !canSeeAccount(principal, account)) throw new DomainError('account_not_found', `account ${number} does not exist`);
  return account;
}

/** Input for {@link closeAccount}: where the balance goes, when the account holds one. */
export interface CloseAccountInput {
  /** An open ledger account of the same party and currency that receives the whole balance. */
  transferTo?: string | undefined;
}

/**
 * Closes an account: it can no longer pay or be paid (approvals from it answer `account_closed`).
 * An account that holds a balance closes only when `transferTo` names where the balance goes:
 * another open ledger account of the same party in the same currency, credited with the whole
 * balance in the same transaction. Money is never left on a closed account, where nothing could
 * move it again (docs/api.md, "Closing an account"). The account's row is locked first, so a
 * payment into it either commits before the close (and is moved with the balance) or finds it
 * closed. Closing a closed account answers it unchanged.
 * @throws DomainError `account_not_found`, `forbidden`, `account_not_empty` (details
 *   `{balance}`: a balance and no `transferTo`), `validation_failed` on `transferTo` (itself,
 *   another party's or currency's account, a wallet or a closed one), `amount_too_large`,
 *   `write_contention` (the accounts kept changing under it; nothing was written).
 */
export async function closeAccount(deps: Deps, principal: Principal, id: string, input: CloseAccountInput = {}): Promise<Account> {
  const account = await getAccount(deps, principal, id);
  if (!allows(principal.grants, 'accounts:manage', scopeOf(account))) throw new DomainError('forbidden', 'this API key may not close this account (needs accounts:manage)');
  // The target's row may change between the transfer's check and its commit (LedgerRace): run again from a fresh read.
  for (let attempt = 1; ; attempt++) {
    try {
      return await closeOnce(deps, principal, account, input);
    } catch (err) {
      if (!(err instanceof LedgerRace)) throw err;
      if (attempt >= 5) throw new DomainError('write_contention', 'the accounts changed during the close; nothing was written, retry shortly', { details: { retryAfterSeconds: 1 } });
    }
  }
}

function closeOnce(deps: Deps, principal: Principal, account: Account, input: CloseAccountInput): Promise<Account> {
  const id = account.id;
  return deps.store.transaction(async (tx) => {
    const now = deps.clock();
    const locked = await lockAccount(tx, account.orgId, account.mode, id, now);
    if (!locked) throw new DomainError('account_not_found', `account ${id} does not exist`);
    if (locked.status === 'closed') return locked;
    if (locked.balance !== 0n) {
      if (input.transferTo === undefined) {
        const balance = formatWireAmount(locked.balance, deps.currencies.get(locked.currency));
        throw new DomainError('account_not_empty', `the account holds ${balance} ${locked.currency}: name an account of the same party and currency in transferTo to receive it`, {
          details: { balance },
        });
      }
      const target = await findAccount(tx, account.orgId, account.mode, input.transferTo);
      const invalid = (message: string): never => {
        throw fieldError('transferTo', message);
      };
      if (!target || target.systemPurpose !== null || !canSeeAccount(principal, target)) return invalid(`account ${input.transferTo} does not exist`);
      if (target.id === locked.id) invalid('transferTo must be another account than the one closed');
      if (target.partyId !== locked.partyId) invalid('transferTo must belong to the same party');
      if (target.currency !== locked.currency) invalid(`transferTo must hold ${locked.currency}`);
      if (isWallet(target)) invalid('transferTo must be a ledger account, not a wallet account');
      if (target.status !== 'open') invalid('transferTo is closed');
      await transfer(tx, {
        orgId: account.orgId,
        mode: account.mode,
        kind: 'close',
        paymentRequestId: null,
        postings: [
          { accountId: locked.id, amount: -locked.balance },
          { accountId: target.id, amount: locked.balance },
        ],
        now,
        known: [locked, target],
      });
    }
    // After the transfer's balance writes (registered first, run first): the emptied account closes last.
    const close = () => setAccountStatus(tx, id, 'closed', now);
    tx.beforeCommit(close);
    return { ...locked, balance: 0n, status: 'closed', updatedAt: now };
  });
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
  if (isWallet(account)) throw new DomainError('account_not_allowed', 'a wallet account holds nothing in Payreq: send tokens to its address instead');
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
