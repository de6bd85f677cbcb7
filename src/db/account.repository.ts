/**
 * Ledger accounts and entries. Balances are minor units stored as decimal strings; system
 * accounts (`system_purpose` set, no party) hold the other side of every movement and may be
 * negative, so each currency sums to zero over all accounts.
 */
import { sql } from 'kysely';
import type { Account, SystemPurpose } from '../domain/entities.js';
import { newId } from '../domain/ids.js';
import type { Mode } from '../domain/payment-request.js';
import { preparedQuery } from './prepared.js';
import type { AccountRow, NewLedgerEntryRow, NewLedgerTransferRow } from './schema.js';
import type { Db, Tx } from './tx.js';

/** Maps a row to an {@link Account}. */
export function rowToAccount(row: AccountRow): Account {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    partyId: row.party_id,
    currency: row.currency,
    balance: BigInt(row.balance),
    status: row.status as Account['status'],
    systemPurpose: row.system_purpose as SystemPurpose | null,
    address: row.address,
    number: row.number === null ? null : Number(row.number),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Inserts an account. */
export async function insertAccount(tx: Db, account: Account): Promise<void> {
  await tx.db
    .insertInto('accounts')
    .values({
      id: account.id,
      org_id: account.orgId,
      mode: account.mode,
      party_id: account.partyId,
      currency: account.currency,
      balance: account.balance.toString(),
      status: account.status,
      system_purpose: account.systemPurpose,
      address: account.address,
      number: account.number,
      created_at: account.createdAt,
      updated_at: account.updatedAt,
    })
    .execute();
}

/** The accounts with these ids in this org and mode, in id order (those that exist; no lock). */
export async function findAccounts(tx: Db, orgId: string, mode: Mode, ids: readonly string[]): Promise<Account[]> {
  if (ids.length === 0) return [];
  const { rows } = await findByIds(tx, { ids: [...new Set(ids)], orgId, mode });
  return rows.map(rowToAccount);
}

const findByIds = preparedQuery((db, p: { ids: string[]; orgId: string; mode: string }) =>
  db.selectFrom('accounts').selectAll().where('id', 'in', p.ids).where('org_id', '=', p.orgId).where('mode', '=', p.mode).orderBy('id'),
);
const findById = preparedQuery((db, p: { id: string; orgId: string; mode: string }) =>
  db.selectFrom('accounts').selectAll().where('id', '=', p.id).where('org_id', '=', p.orgId).where('mode', '=', p.mode),
);

/** The account with this id in this org and mode (no lock: the ledger locks with {@link applyBalanceChanges}). */
export async function findAccount(tx: Db, orgId: string, mode: Mode, id: string): Promise<Account | undefined> {
  const row = (await findById(tx, { id, orgId, mode })).rows[0];
  return row && rowToAccount(row);
}

/** The system account for a purpose and currency, created on first use (idempotent under races). */
export async function systemAccount(tx: Db, orgId: string, mode: Mode, currency: string, purpose: SystemPurpose, now: number): Promise<Account> {
  const find = () =>
    tx.db
      .selectFrom('accounts')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('mode', '=', mode)
      .where('currency', '=', currency)
      .where('system_purpose', '=', purpose)
      .executeTakeFirst();
  const existing = await find();
  if (existing) return rowToAccount(existing);
  await tx.db
    .insertInto('accounts')
    .values({ id: newId(), org_id: orgId, mode, party_id: null, currency, balance: '0', status: 'open', system_purpose: purpose, address: null, number: null, created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['org_id', 'mode', 'currency', 'system_purpose']).where('system_purpose', 'is not', null).doNothing())
    .execute();
  const row = await find();
  if (!row) throw new Error(`system account ${purpose}/${currency} could not be created`);
  return rowToAccount(row);
}

/**
 * Wallet accounts of an org and mode, oldest first, filtered by party, address (EIP-55
 * checksummed, as stored) and currency.
 */
export async function findWalletAccounts(tx: Db, orgId: string, mode: Mode, filter: { partyId?: string; address?: string; currency?: string }): Promise<Account[]> {
  let query = tx.db.selectFrom('accounts').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('address', 'is not', null);
  if (filter.partyId !== undefined) query = query.where('party_id', '=', filter.partyId);
  if (filter.address !== undefined) query = query.where('address', '=', filter.address);
  if (filter.currency !== undefined) query = query.where('currency', '=', filter.currency);
  const rows = await query.orderBy('id').execute();
  return rows.map(rowToAccount);
}

/** A party's open accounts (ledger and wallet) in `currency`, oldest first. */
export async function findPartyAccounts(tx: Db, orgId: string, mode: Mode, partyId: string, currency: string): Promise<Account[]> {
  const rows = await tx.db
    .selectFrom('accounts')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('mode', '=', mode)
    .where('party_id', '=', partyId)
    .where('currency', '=', currency)
    .where('status', '=', 'open')
    .orderBy('id')
    .execute();
  return rows.map(rowToAccount);
}

/** The party account with this number in an org and mode, or undefined. */
export async function findAccountByNumber(tx: Db, orgId: string, mode: Mode, number: number): Promise<Account | undefined> {
  const row = await tx.db.selectFrom('accounts').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('number', '=', number).executeTakeFirst();
  return row && rowToAccount(row);
}

/** Sets an account's balance (minor units; SQLite's path of {@link applyBalanceChanges}, which computes it in code). */
export async function setAccountBalance(tx: Db, id: string, balance: bigint, now: number): Promise<void> {
  await setBalance(tx, { balance: balance.toString(), now, id });
}

const setBalance = preparedQuery((db, p: { balance: string; now: number; id: string }) => db.updateTable('accounts').set({ balance: p.balance, updated_at: p.now }).where('id', '=', p.id));

/** An account's row after {@link applyBalanceChanges}: its new balance (minor units) and what the ledger re-checks. */
export type ChangedAccount = Pick<Account, 'id' | 'balance' | 'status' | 'systemPurpose'>;

/**
 * Adds signed amounts (minor units) to accounts' balances, as the last statements of a ledger
 * transfer, and returns the changed rows, by id, with their new balances, for the ledger to
 * check (an account that went missing is absent). The caller rolls back when a check fails.
 *
 * Every transfer locks its accounts in id order, so two transfers cannot deadlock on accounts:
 * - On PostgreSQL one statement: a `WITH` that locks the rows `ORDER BY id FOR NO KEY UPDATE`,
 *   and an `UPDATE … FROM` it that adds each amount in `NUMERIC` (exact) and returns the rows.
 *   The update touches only rows the `WITH` has locked, so locks are taken in id order whatever
 *   the join order. A hot payee's row is so locked for one statement and the commit. `NO KEY`
 *   because the transaction's own inserts of entries and payments already hold `FOR KEY SHARE`
 *   on the accounts they reference, which a `FOR UPDATE` of another transaction would wait on.
 * - On SQLite, which serializes writers and needs no lock, the rows are read, the sums computed
 *   in code, and each balance written.
 */
export async function applyBalanceChanges(tx: Tx, changes: readonly { accountId: string; amount: bigint }[], now: number): Promise<Map<string, ChangedAccount>> {
  if (changes.length === 0) return new Map();
  const toAccount = (r: { id: string; balance: string; status: string; system_purpose: string | null }): ChangedAccount => ({
    id: r.id,
    balance: BigInt(r.balance),
    status: r.status as Account['status'],
    systemPurpose: r.system_purpose as Account['systemPurpose'],
  });
  if (tx.engine === 'postgres') {
    const { rows } = await addToBalances(tx, { changes: changes.map((c) => ({ id: c.accountId, amount: c.amount.toString() })), now });
    return new Map(rows.map((r) => [r.id, toAccount(r)]));
  }
  const { rows } = await readForUpdate(tx, { ids: changes.map((c) => c.accountId) });
  const changed = new Map<string, ChangedAccount>();
  for (const row of rows) {
    const amount = changes.find((c) => c.accountId === row.id)?.amount ?? 0n;
    const account = { ...toAccount(row), balance: BigInt(row.balance) + amount };
    await setAccountBalance(tx, account.id, account.balance, now);
    changed.set(account.id, account);
  }
  return changed;
}

const readForUpdate = preparedQuery((db, p: { ids: string[] }) => db.selectFrom('accounts').select(['id', 'balance', 'status', 'system_purpose']).where('id', 'in', p.ids).orderBy('id'));
const addToBalances = preparedQuery((_db, p: { changes: { id: string; amount: string }[]; now: number }) => {
  const values = sql.join(p.changes.map((c) => sql`(${c.id}, ${c.amount}::numeric)`));
  return sql<{ id: string; balance: string; status: string; system_purpose: string | null }>`
    with locked as materialized (select id from accounts where id in (${sql.join(p.changes.map((c) => c.id))}) order by id for no key update)
    update accounts as a set balance = a.balance + v.amount, updated_at = ${p.now}
    from locked, (values ${values}) as v(id, amount)
    where a.id = locked.id and v.id = locked.id
    returning a.id, a.balance, a.status, a.system_purpose`;
});

/** A ledger transfer's row: what it is for (`kind`: fund, payment, refund, external_payment) and when (epoch ms). */
export interface TransferRow {
  id: string;
  orgId: string;
  mode: Mode;
  kind: string;
  paymentRequestId: string | null;
  createdAt: number;
}

/** One entry of a transfer: a signed amount in minor units of the account's currency (credit positive). */
export interface EntryRow {
  id: string;
  accountId: string;
  currency: string;
  amount: bigint;
}

const insertTransferRow = preparedQuery((db, p: { row: NewLedgerTransferRow }) => db.insertInto('ledger_transfers').values(p.row));
const insertEntryRows = preparedQuery((db, p: { rows: NewLedgerEntryRow[] }) => db.insertInto('ledger_entries').values(p.rows));

/** Inserts a ledger transfer and its entries (the ledger has checked that they balance); balances are written apart ({@link applyBalanceChanges}). */
export async function insertTransfer(tx: Tx, transfer: TransferRow, entries: readonly EntryRow[]): Promise<void> {
  const { id, orgId, mode, kind, paymentRequestId, createdAt } = transfer;
  await insertTransferRow(tx, { row: { id, org_id: orgId, mode, kind, payment_request_id: paymentRequestId, created_at: createdAt } });
  if (entries.length === 0) return;
  await insertEntryRows(tx, {
    rows: entries.map((e) => ({ id: e.id, transfer_id: id, org_id: orgId, mode, account_id: e.accountId, currency: e.currency, amount: e.amount.toString(), created_at: createdAt })),
  });
}

/**
 * Locks an account's row for the rest of the transaction and reads it as it stands: on
 * PostgreSQL an `UPDATE … RETURNING` (which waits for a writer holding the row and then sees
 * its commit); SQLite serializes writers and needs no lock. Undefined when it does not exist.
 */
export async function lockAccount(tx: Tx, orgId: string, mode: Mode, id: string, now: number): Promise<Account | undefined> {
  const row = await tx.db.updateTable('accounts').set({ updated_at: now }).where('id', '=', id).where('org_id', '=', orgId).where('mode', '=', mode).returningAll().executeTakeFirst();
  return row && rowToAccount(row);
}

/** Sets an account's status. */
export async function setAccountStatus(tx: Db, id: string, status: Account['status'], now: number): Promise<void> {
  await tx.db.updateTable('accounts').set({ status, updated_at: now }).where('id', '=', id).execute();
}

/** Sums of all balances per currency in an org and mode (the ledger invariant says each is zero). */
export async function balanceSumsByCurrency(tx: Db, orgId: string, mode: Mode): Promise<Map<string, bigint>> {
  const rows = await tx.db.selectFrom('accounts').select(['currency', 'balance']).where('org_id', '=', orgId).where('mode', '=', mode).execute();
  const sums = new Map<string, bigint>();
  for (const r of rows) sums.set(r.currency, (sums.get(r.currency) ?? 0n) + BigInt(r.balance));
  return sums;
}
