/**
 * Ledger accounts and entries. Balances are minor units stored as decimal strings; system
 * accounts (`system_purpose` set, no party) hold the other side of every movement and may be
 * negative, so each currency sums to zero over all accounts.
 */
import { sql } from 'kysely';
import { newId } from '../domain/ids.js';
import type { Mode } from '../domain/payment-request.js';
import type { AccountRow } from './schema.js';
import type { Tx } from './store.js';

/** Why a system account exists: minting test money, currency exchange, or money that moved outside the ledger. */
export type SystemPurpose = 'funding' | 'fx' | 'external';

/** An account as the use cases see it. `balance` is in minor units of `currency`. */
export interface Account {
  id: string;
  orgId: string;
  mode: Mode;
  partyId: string | null;
  currency: string;
  balance: bigint;
  status: 'open' | 'closed';
  systemPurpose: SystemPurpose | null;
  /**
   * Set on a wallet account: the party's own EVM address (EIP-55 checksummed) that receives
   * `currency` on chain. Payreq holds no keys: such an account never takes part in a ledger
   * transfer and its `balance` stays 0.
   */
  address: string | null;
  /** Per org and mode, from 1, for party accounts (Pismo's account `id`, DeltaPay's `account_id`); null for system accounts. */
  number: number | null;
  createdAt: number;
  updatedAt: number;
}

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
export async function insertAccount(tx: Tx, account: Account): Promise<void> {
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
export async function findAccounts(tx: Tx, orgId: string, mode: Mode, ids: readonly string[]): Promise<Account[]> {
  if (ids.length === 0) return [];
  const rows = await tx.db.selectFrom('accounts').selectAll().where('id', 'in', [...ids]).where('org_id', '=', orgId).where('mode', '=', mode).orderBy('id').execute();
  return rows.map(rowToAccount);
}

/** The account with this id in this org and mode (no lock: the ledger locks with {@link lockAccounts}). */
export async function findAccount(tx: Tx, orgId: string, mode: Mode, id: string): Promise<Account | undefined> {
  const row = await tx.db
    .selectFrom('accounts')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('mode', '=', mode)
    .executeTakeFirst();
  return row && rowToAccount(row);
}

/** The system account for a purpose and currency, created on first use (idempotent under races). */
export async function systemAccount(tx: Tx, orgId: string, mode: Mode, currency: string, purpose: SystemPurpose, now: number): Promise<Account> {
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
export async function findWalletAccounts(tx: Tx, orgId: string, mode: Mode, filter: { partyId?: string; address?: string; currency?: string }): Promise<Account[]> {
  let query = tx.db.selectFrom('accounts').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('address', 'is not', null);
  if (filter.partyId !== undefined) query = query.where('party_id', '=', filter.partyId);
  if (filter.address !== undefined) query = query.where('address', '=', filter.address);
  if (filter.currency !== undefined) query = query.where('currency', '=', filter.currency);
  const rows = await query.orderBy('id').execute();
  return rows.map(rowToAccount);
}

/** A party's open accounts (ledger and wallet) in `currency`, oldest first. */
export async function findPartyAccounts(tx: Tx, orgId: string, mode: Mode, partyId: string, currency: string): Promise<Account[]> {
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
export async function findAccountByNumber(tx: Tx, orgId: string, mode: Mode, number: number): Promise<Account | undefined> {
  const row = await tx.db.selectFrom('accounts').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('number', '=', number).executeTakeFirst();
  return row && rowToAccount(row);
}

/** Sets an account's balance (the ledger computes it in code and has the row locked). */
export async function setAccountBalance(tx: Tx, id: string, balance: bigint, now: number): Promise<void> {
  await tx.db.updateTable('accounts').set({ balance: balance.toString(), updated_at: now }).where('id', '=', id).execute();
}

/**
 * Locks accounts for the end of a ledger transfer and reads what the balance checks need: one
 * `SELECT … ORDER BY id FOR NO KEY UPDATE` on PostgreSQL (every transfer locks in the same
 * order, so two cannot deadlock on accounts; `NO KEY` because the transaction's own inserts of
 * entries and payments already hold `FOR KEY SHARE` on the accounts they reference, which a
 * `FOR UPDATE` of another transaction would wait on); SQLite serializes writers and needs no lock.
 * @returns the rows found, by id.
 */
export async function lockAccounts(tx: Tx, ids: readonly string[]): Promise<Map<string, Pick<Account, 'id' | 'balance' | 'status' | 'systemPurpose'>>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.db
    .selectFrom('accounts')
    .select(['id', 'balance', 'status', 'system_purpose'])
    .where('id', 'in', [...ids])
    .orderBy('id')
    .$if(tx.engine === 'postgres', (q) => q.forNoKeyUpdate())
    .execute();
  return new Map(rows.map((r) => [r.id, { id: r.id, balance: BigInt(r.balance), status: r.status as Account['status'], systemPurpose: r.system_purpose as Account['systemPurpose'] }]));
}

/** Writes new balances (minor units, computed in code from locked rows) in one statement. */
export async function setBalances(tx: Tx, balances: readonly { accountId: string; balance: bigint }[], now: number): Promise<void> {
  if (balances.length === 0) return;
  if (balances.length === 1 || tx.engine === 'sqlite') {
    for (const b of balances) await setAccountBalance(tx, b.accountId, b.balance, now);
    return;
  }
  const values = sql.join(balances.map((b) => sql`(${b.accountId}, ${b.balance.toString()}::numeric)`));
  await sql`update accounts as a set balance = v.balance, updated_at = ${now} from (values ${values}) as v(id, balance) where a.id = v.id`.execute(tx.db);
}

/** Sets an account's status. */
export async function setAccountStatus(tx: Tx, id: string, status: Account['status'], now: number): Promise<void> {
  await tx.db.updateTable('accounts').set({ status, updated_at: now }).where('id', '=', id).execute();
}

/** Sums of all balances per currency in an org and mode (the ledger invariant says each is zero). */
export async function balanceSumsByCurrency(tx: Tx, orgId: string, mode: Mode): Promise<Map<string, bigint>> {
  const rows = await tx.db.selectFrom('accounts').select(['currency', 'balance']).where('org_id', '=', orgId).where('mode', '=', mode).execute();
  const sums = new Map<string, bigint>();
  for (const r of rows) sums.set(r.currency, (sums.get(r.currency) ?? 0n) + BigInt(r.balance));
  return sums;
}
