/**
 * The internal double-entry ledger (docs/api.md). Every movement is a transfer whose postings
 * sum to zero in each currency, so the sum over all accounts of a currency is always zero;
 * system accounts hold the other side. A party's account never goes negative and a closed
 * one never moves. Balances are written at the end of the caller's transaction, under row locks
 * taken in id order on PostgreSQL (SQLite serializes writers), and checked on the written rows:
 * {@link transfer}.
 */
import type { Account } from '../domain/entities.js';
import { DomainError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { MAX_LEDGER_AMOUNT, MAX_SYSTEM_BALANCE } from '../domain/money.js';
import type { Mode } from '../domain/payment-request.js';
import { applyBalanceChanges, findAccounts, insertTransfer, systemAccount } from '../db/account.repository.js';
import type { Db, Tx } from '../db/store.js';

/** One leg of a transfer: `amount` is signed minor units of the account's currency (credit positive). */
export interface Posting {
  accountId: string;
  amount: bigint;
}

/** What a transfer is for (`close`: an account's balance moved to another of its party's as it closes). */
export type TransferKind = 'fund' | 'payment' | 'refund' | 'external_payment' | 'close';

/** A transfer to make. `now` is epoch ms. */
export interface TransferInput {
  orgId: string;
  mode: Mode;
  kind: TransferKind;
  paymentRequestId: string | null;
  postings: Posting[];
  now: number;
  /**
   * Accounts the caller already read in this transaction (an approval reads the payer's and the
   * payee's to authorize it): the transfer checks them as read and reads only the others. The
   * balances are checked again on the locked rows at the commit, whatever was passed here.
   */
  known?: readonly Account[];
}

/**
 * Thrown at the end of a transaction when a debited account's balance or an account's status
 * changed between the transfer's checks and its locks: nothing was written, and the command is
 * run again from a fresh read (whose checks then see the change and answer, say, `failed`).
 */
export class LedgerRace extends Error {}

/**
 * Applies a balanced transfer atomically within the caller's transaction; nothing is written
 * unless every check passes.
 *
 * The write path keeps approvals into one hot account from serializing for a whole settlement
 * (docs/performance.md):
 * - the checks (accounts exist and are open, no party account goes negative) read the accounts
 *   without locking them;
 * - the entries are inserted at once;
 * - the balances are written as the transaction's last statement (`tx.beforeCommit`,
 *   `applyBalanceChanges`): on PostgreSQL one statement locks every moving account in id order
 *   and adds its amount; the debits are then checked again on the written rows, and a failed
 *   check rolls the transaction back. A hot payee's row is so locked for one statement and the
 *   commit, and since every transfer locks in the same order at the same point, two transfers
 *   never deadlock on accounts.
 * At every commit each balance equals the sum of its postings and each currency sums to zero.
 *
 * @returns the transfer id.
 * @throws DomainError `insufficient_funds` (details `{accountId}`) when a party's account would go
 *   negative; `amount_too_large` (details `{limit}`) when a posting moves more than
 *   {@link MAX_LEDGER_AMOUNT}, a party balance would exceed it, or a system balance would pass
 *   {@link MAX_SYSTEM_BALANCE}; `account_closed` (details `{accountId}`) when a party's account is closed;
 *   `account_not_found` when an account is missing. {@link LedgerRace} at the commit when a
 *   checked account changed meanwhile. Error (a bug) when postings do not balance.
 */
export async function transfer(tx: Tx, input: TransferInput): Promise<string> {
  const merged = new Map<string, bigint>();
  for (const p of input.postings) merged.set(p.accountId, (merged.get(p.accountId) ?? 0n) + p.amount);
  const ids = [...merged.keys()].sort();
  const known = (input.known ?? []).filter((a) => merged.has(a.id) && a.orgId === input.orgId && a.mode === input.mode);
  const unread = ids.filter((id) => !known.some((a) => a.id === id));
  const accounts = [...known, ...(await findAccounts(tx, input.orgId, input.mode, unread))].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const missing = ids.find((id) => !accounts.some((a) => a.id === id));
  if (missing !== undefined) throw new DomainError('account_not_found', `account ${missing} does not exist`);
  const sums = new Map<string, bigint>();
  for (const account of accounts) {
    const amount = merged.get(account.id) ?? 0n;
    sums.set(account.currency, (sums.get(account.currency) ?? 0n) + amount);
    if (amount === 0n) continue;
    if (exceedsBound(account, amount, account.balance + amount)) throw tooLarge(account);
    if (account.systemPurpose !== null) continue;
    if (account.status === 'closed') {
      throw new DomainError('account_closed', `account ${account.id} is closed`, { details: { accountId: account.id } });
    }
    if (account.balance + amount < 0n) {
      throw new DomainError('insufficient_funds', `account ${account.id} has insufficient funds`, { details: { accountId: account.id } });
    }
  }
  for (const [currency, sum] of sums) {
    if (sum !== 0n) throw new Error(`unbalanced transfer: ${currency} postings sum to ${sum}`);
  }

  const transferId = newId();
  const moving = accounts.filter((a) => (merged.get(a.id) ?? 0n) !== 0n);
  await insertTransfer(
    tx,
    { id: transferId, orgId: input.orgId, mode: input.mode, kind: input.kind, paymentRequestId: input.paymentRequestId, createdAt: input.now },
    moving.map((a) => ({ id: newId(), accountId: a.id, currency: a.currency, amount: merged.get(a.id) ?? 0n })),
  );
  const apply = async () => {
    const changed = await applyBalanceChanges(tx, moving.map((a) => ({ accountId: a.id, amount: merged.get(a.id) ?? 0n })), input.now);
    for (const a of moving) {
      const row = changed.get(a.id);
      const amount = merged.get(a.id) ?? 0n;
      if (!row) throw new LedgerRace(`account ${a.id} disappeared`);
      // Checked on the written rows: a failed check rolls the whole transaction back.
      const guarded = row.systemPurpose === null;
      if (guarded && (row.status !== 'open' || (amount < 0n && row.balance < 0n))) throw new LedgerRace(`account ${a.id} changed during the transfer`);
      // Another transfer moved the balance since the check: the fresh read's check answers amount_too_large.
      if (exceedsBound(row, amount, row.balance)) throw new LedgerRace(`account ${a.id} reached its bound during the transfer`);
    }
  };
  tx.beforeCommit(apply);
  return transferId;
}

/**
 * True when moving `amount` (signed minor units) leaves `account` holding `after` past the
 * ledger's bounds: a movement beyond {@link MAX_LEDGER_AMOUNT}, a party balance above it, a system
 * balance beyond {@link MAX_SYSTEM_BALANCE} in magnitude.
 */
function exceedsBound(account: Pick<Account, 'systemPurpose'>, amount: bigint, after: bigint): boolean {
  if (amount > MAX_LEDGER_AMOUNT || -amount > MAX_LEDGER_AMOUNT) return true;
  if (account.systemPurpose === null) return amount > 0n && after > MAX_LEDGER_AMOUNT;
  return after > MAX_SYSTEM_BALANCE || -after > MAX_SYSTEM_BALANCE;
}

function tooLarge(account: Pick<Account, 'id' | 'systemPurpose'>): DomainError {
  const what = account.systemPurpose === null ? `account ${account.id}` : `the org's ${account.systemPurpose} account`;
  return new DomainError('amount_too_large', `the movement would take ${what} past what the ledger holds (10^38 - 1 minor units per account and per movement)`, {
    details: { limit: (account.systemPurpose === null ? MAX_LEDGER_AMOUNT : MAX_SYSTEM_BALANCE).toString() },
  });
}

/** One side of a movement: an account, its currency and a positive amount in minor units. */
export interface Leg {
  accountId: string;
  currency: string;
  amount: bigint;
}

/**
 * Postings that move `from.amount` out of `from.accountId` and `to.amount` into `to.accountId`.
 * In one currency the amounts must be equal; across currencies the org's system FX accounts
 * take the difference, so each currency still sums to zero.
 * @throws Error (a bug) when a same-currency movement has unequal sides.
 */
export async function movementPostings(tx: Db, orgId: string, mode: Mode, from: Leg, to: Leg, now: number): Promise<Posting[]> {
  if (from.currency === to.currency) {
    if (from.amount !== to.amount) throw new Error('a same-currency movement must have equal sides');
    return [
      { accountId: from.accountId, amount: -from.amount },
      { accountId: to.accountId, amount: to.amount },
    ];
  }
  const fxFrom = await systemAccount(tx, orgId, mode, from.currency, 'fx', now);
  const fxTo = await systemAccount(tx, orgId, mode, to.currency, 'fx', now);
  return [
    { accountId: from.accountId, amount: -from.amount },
    { accountId: fxFrom.id, amount: from.amount },
    { accountId: fxTo.id, amount: -to.amount },
    { accountId: to.accountId, amount: to.amount },
  ];
}
