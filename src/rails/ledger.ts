/**
 * The internal double-entry ledger (DESIGN.md §4). Every movement is a transfer whose postings
 * sum to zero in each currency, so the sum over all accounts of a currency is always zero;
 * system accounts hold the other side. A party's account never goes negative and a closed
 * one never moves. Balances are computed in code from locked rows (row locks on PostgreSQL;
 * SQLite serializes writers), then written with the entries in the caller's transaction.
 */
import { DomainError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Mode } from '../domain/payment-request.js';
import { type Account, findAccount, setAccountBalance, systemAccount } from '../db/account.repository.js';
import type { Tx } from '../db/store.js';

/** One leg of a transfer: `amount` is signed minor units of the account's currency (credit positive). */
export interface Posting {
  accountId: string;
  amount: bigint;
}

/** What a transfer is for. */
export type TransferKind = 'fund' | 'payment' | 'refund' | 'external_payment';

/** A transfer to make. `now` is epoch ms. */
export interface TransferInput {
  orgId: string;
  mode: Mode;
  kind: TransferKind;
  paymentRequestId: string | null;
  postings: Posting[];
  now: number;
}

/**
 * Applies a balanced transfer atomically within the caller's transaction; nothing is written
 * unless every check passes.
 *
 * @returns the transfer id.
 * @throws DomainError `insufficient_funds` (details `{accountId}`) when a party's account would go
 *   negative; `account_closed` (details `{accountId}`) when a party's account is closed;
 *   `account_not_found` when an account is missing. Error (a bug) when postings do not balance.
 */
export async function transfer(tx: Tx, input: TransferInput): Promise<string> {
  const merged = new Map<string, bigint>();
  for (const p of input.postings) merged.set(p.accountId, (merged.get(p.accountId) ?? 0n) + p.amount);
  // Lock in a fixed order so that two transfers touching the same accounts cannot deadlock.
  const ids = [...merged.keys()].sort();
  const accounts: Account[] = [];
  for (const id of ids) {
    const account = await findAccount(tx, input.orgId, input.mode, id, true);
    if (!account) throw new DomainError('account_not_found', `account ${id} does not exist`);
    accounts.push(account);
  }
  const sums = new Map<string, bigint>();
  for (const account of accounts) {
    const amount = merged.get(account.id) ?? 0n;
    sums.set(account.currency, (sums.get(account.currency) ?? 0n) + amount);
    if (account.systemPurpose !== null || amount === 0n) continue;
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
  await tx.db
    .insertInto('ledger_transfers')
    .values({ id: transferId, org_id: input.orgId, mode: input.mode, kind: input.kind, payment_request_id: input.paymentRequestId, created_at: input.now })
    .execute();
  const entries = accounts
    .filter((a) => (merged.get(a.id) ?? 0n) !== 0n)
    .map((a) => ({
      id: newId(),
      transfer_id: transferId,
      org_id: input.orgId,
      mode: input.mode,
      account_id: a.id,
      currency: a.currency,
      amount: (merged.get(a.id) ?? 0n).toString(),
      created_at: input.now,
    }));
  if (entries.length > 0) await tx.db.insertInto('ledger_entries').values(entries).execute();
  for (const account of accounts) {
    const amount = merged.get(account.id) ?? 0n;
    if (amount !== 0n) await setAccountBalance(tx, account.id, account.balance + amount, input.now);
  }
  return transferId;
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
export async function movementPostings(tx: Tx, orgId: string, mode: Mode, from: Leg, to: Leg, now: number): Promise<Posting[]> {
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
