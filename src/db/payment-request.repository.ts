/**
 * Payment request rows: mappers between rows and the domain, inserts, compare-and-set updates,
 * and the list queries. Amounts cross as decimal strings of minor units; JSON columns as text.
 */
import { type ExpressionBuilder, type SqlBool, sql } from 'kysely';
import type { CommandType, DialectData, FailureReason, LineItem, Mode, PaymentOption, PaymentRequest, PaymentRequestStatus } from '../domain/payment-request.js';
import { preparedQuery } from './prepared.js';
import type { Database, NewPaymentRequestRow, PaymentRequestRow } from './schema.js';
import type { Db, Tx } from './tx.js';

function parseJson<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

function jsonOrNull(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

interface StoredOption {
  currency: string;
  amount: string;
  rate: string;
  address?: string;
}
interface StoredLineItem {
  name: string;
  sku: string;
  qty: string;
  price: string;
}

/** Maps a row to the domain's {@link PaymentRequest}. */
export function rowToPaymentRequest(row: PaymentRequestRow): PaymentRequest {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    status: row.status as PaymentRequestStatus,
    amount: BigInt(row.amount),
    currency: row.currency,
    payeeAccountId: row.payee_account_id,
    payeePartyId: row.payee_party_id,
    payerAccountId: row.payer_account_id,
    payerPartyId: row.payer_party_id,
    paymentOptions: (parseJson<StoredOption[]>(row.payment_options) ?? []).map((o) => ({ currency: o.currency, amount: BigInt(o.amount), rate: o.rate, ...(o.address === undefined ? {} : { address: o.address }) })),
    expiresAt: Number(row.expires_at),
    description: row.description,
    metadata: parseJson(row.metadata),
    dialectData: parseJson<DialectData>(row.dialect_data),
    externalId: row.external_id,
    lineItems: parseJson<StoredLineItem[]>(row.line_items)?.map((li) => ({ ...li, price: BigInt(li.price) })) ?? null,
    customer: parseJson(row.customer),
    redirectUrls: parseJson(row.redirect_urls),
    merchant: parseJson(row.merchant),
    patronCodeId: row.patron_code_id,
    transactionType: row.transaction_type,
    tillId: row.till_id,
    amountPaid: BigInt(row.amount_paid),
    amountRefunded: BigInt(row.amount_refunded),
    paidAt: row.paid_at === null ? null : Number(row.paid_at),
    failureReason: row.failure_reason as FailureReason | null,
    code: row.code,
    paymentReference: row.payment_reference,
    salt: row.salt,
    number: Number(row.number),
    parties: parseJson(row.parties),
    sequence: Number(row.sequence),
    statusCause: row.status_cause as CommandType | null,
    statusActor: row.status_actor,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Maps the domain's {@link PaymentRequest} to a row. */
export function paymentRequestToRow(pr: PaymentRequest): NewPaymentRequestRow {
  return {
    id: pr.id,
    org_id: pr.orgId,
    mode: pr.mode,
    status: pr.status,
    amount: pr.amount.toString(),
    currency: pr.currency,
    payee_account_id: pr.payeeAccountId,
    payee_party_id: pr.payeePartyId,
    payer_account_id: pr.payerAccountId,
    payer_party_id: pr.payerPartyId,
    payment_options: JSON.stringify(pr.paymentOptions.map((o: PaymentOption) => ({ currency: o.currency, amount: o.amount.toString(), rate: o.rate, ...(o.address === undefined ? {} : { address: o.address }) }))),
    expires_at: pr.expiresAt,
    description: pr.description,
    metadata: jsonOrNull(pr.metadata),
    dialect_data: pr.dialectData === null || Object.keys(pr.dialectData).length === 0 ? null : JSON.stringify(pr.dialectData),
    external_id: pr.externalId,
    line_items: pr.lineItems === null ? null : JSON.stringify(pr.lineItems.map((li: LineItem) => ({ ...li, price: li.price.toString() }))),
    customer: jsonOrNull(pr.customer),
    redirect_urls: jsonOrNull(pr.redirectUrls),
    merchant: jsonOrNull(pr.merchant),
    patron_code_id: pr.patronCodeId,
    transaction_type: pr.transactionType,
    till_id: pr.tillId,
    amount_paid: pr.amountPaid.toString(),
    amount_refunded: pr.amountRefunded.toString(),
    paid_at: pr.paidAt,
    failure_reason: pr.failureReason,
    code: pr.code,
    payment_reference: pr.paymentReference,
    salt: pr.salt,
    number: pr.number,
    parties: jsonOrNull(pr.parties),
    sequence: pr.sequence,
    status_cause: pr.statusCause,
    status_actor: pr.statusActor,
    created_at: pr.createdAt,
    updated_at: pr.updatedAt,
  };
}

const insertRow = preparedQuery((db, p: { row: NewPaymentRequestRow }) => db.insertInto('payment_requests').values(p.row));

/** Inserts a new payment request. Throws the driver's unique-violation error on a duplicate `external_id` or `code`. */
export async function insertPaymentRequest(tx: Db, pr: PaymentRequest): Promise<void> {
  await insertRow(tx, { row: paymentRequestToRow(pr) });
}

const findById = preparedQuery((db, p: { id: string; orgId: string; mode: string }) =>
  db.selectFrom('payment_requests').selectAll().where('id', '=', p.id).where('org_id', '=', p.orgId).where('mode', '=', p.mode),
);

/** The payment request with this id in this org and mode, or undefined. */
export async function findPaymentRequest(tx: Db, orgId: string, mode: Mode, id: string): Promise<PaymentRequest | undefined> {
  const row = (await findById(tx, { id, orgId, mode })).rows[0];
  return row && rowToPaymentRequest(row);
}

type ChangedColumns = Omit<NewPaymentRequestRow, 'id' | 'org_id' | 'mode' | 'created_at' | 'number' | 'parties'>;
const compareAndSet = preparedQuery((db, p: { changes: ChangedColumns; id: string; status: string; sequence: number }) =>
  db.updateTable('payment_requests').set(p.changes).where('id', '=', p.id).where('status', '=', p.status).where('sequence', '=', p.sequence),
);

/**
 * Writes `next` over `prev` only if the row still has `prev`'s status and sequence
 * (compare-and-set, docs/api.md).
 * @returns false when another writer got there first (nothing was written).
 */
export async function compareAndSetPaymentRequest(tx: Db, prev: PaymentRequest, next: PaymentRequest): Promise<boolean> {
  // Columns fixed at creation are never rewritten: a row created without a number (by SQL, or by
  // an older Payreq during a rolling deploy) must not be given a made-up one here.
  const { id: _id, org_id: _org, mode: _mode, created_at: _created, number: _number, parties: _parties, ...changes } = paymentRequestToRow(next);
  const result = await compareAndSet(tx, { changes, id: prev.id, status: prev.status, sequence: prev.sequence });
  return result.numAffectedRows === 1n;
}

/** Filters for {@link listPaymentRequests}; every field is optional and they combine with AND. */
export interface PaymentRequestFilter {
  status?: PaymentRequestStatus | undefined;
  externalId?: string | undefined;
  code?: string | undefined;
  number?: number | undefined;
  payeeAccountId?: string | undefined;
  payerPartyId?: string | undefined;
  payerAccountId?: string | undefined;
  payeePartyId?: string | undefined;
  /** For a party's list: `incoming` (the party is the payer) or `outgoing` (the payee). */
  party?: { id: string; direction: 'incoming' | 'outgoing' } | undefined;
  metadata?: Record<string, string> | undefined;
  /**
   * String fields of one dialect's data (`{dialect: 'deltapay', fields: {metadata: 'x'}}`): the
   * dialects' own look-ups (DeltaPay's `from-metadata`, Centrapay's `externalRef`); /v1 never sets it.
   */
  dialectData?: { dialect: string; fields: Record<string, string> } | undefined;
  /** Requests attached to any of these patron codes (an empty list matches none). */
  patronCodeIds?: readonly string[] | undefined;
}

/** What the caller may see: everything, or requests touching these accounts or parties. */
export type Visibility = 'all' | { accountIds: string[]; partyIds: string[] };

/**
 * Lists payment requests most recent first (UUIDv7 ids sort by creation time), after the
 * `cursor` id when given, at most `limit` + 1 rows (the extra row tells `hasMore`).
 *
 * Statuses are read as of `now`: `pending` excludes requests already past `expiresAt`, and
 * `expired` includes them (docs/api.md: a due request reads as expired at once).
 */
export async function listPaymentRequests(
  tx: Db,
  orgId: string,
  mode: Mode,
  filter: PaymentRequestFilter,
  visibility: Visibility,
  page: { limit: number; cursor?: string | undefined },
  now: number,
): Promise<PaymentRequest[]> {
  let query = tx.db.selectFrom('payment_requests').selectAll().where('org_id', '=', orgId).where('mode', '=', mode);
  if (filter.status === 'pending') {
    query = query.where('status', '=', 'pending').where('expires_at', '>', now);
  } else if (filter.status === 'expired') {
    query = query.where((eb) => eb.or([eb('status', '=', 'expired'), eb.and([eb('status', '=', 'pending'), eb('expires_at', '<=', now)])]));
  } else if (filter.status !== undefined) {
    query = query.where('status', '=', filter.status);
  }
  if (filter.externalId !== undefined) query = query.where('external_id', '=', filter.externalId);
  if (filter.code !== undefined) query = query.where('code', '=', filter.code);
  if (filter.number !== undefined) query = query.where('number', '=', filter.number);
  if (filter.patronCodeIds !== undefined) {
    query = filter.patronCodeIds.length === 0 ? query.where(sql<SqlBool>`1 = 0`) : query.where('patron_code_id', 'in', filter.patronCodeIds);
  }
  if (filter.payeeAccountId !== undefined) query = query.where('payee_account_id', '=', filter.payeeAccountId);
  if (filter.payerPartyId !== undefined) query = query.where('payer_party_id', '=', filter.payerPartyId);
  if (filter.payerAccountId !== undefined) query = query.where('payer_account_id', '=', filter.payerAccountId);
  if (filter.payeePartyId !== undefined) query = query.where('payee_party_id', '=', filter.payeePartyId);
  if (filter.party !== undefined) {
    query = query.where(filter.party.direction === 'incoming' ? 'payer_party_id' : 'payee_party_id', '=', filter.party.id);
  }
  for (const [key, value] of Object.entries(filter.metadata ?? {})) {
    const path = `$."${key}"`;
    query =
      tx.engine === 'postgres'
        ? query.where(sql<string>`(metadata::jsonb ->> ${key})`, '=', value)
        : query.where(sql<string>`json_extract(metadata, ${path})`, '=', value);
  }
  for (const [key, value] of Object.entries(filter.dialectData?.fields ?? {})) {
    const dialect = filter.dialectData?.dialect ?? '';
    const path = `$."${dialect}"."${key}"`;
    query =
      tx.engine === 'postgres'
        ? query.where(sql<string>`(dialect_data::jsonb -> ${dialect} ->> ${key})`, '=', value)
        : query.where(sql<string>`json_extract(dialect_data, ${path})`, '=', value);
  }
  if (visibility !== 'all') {
    query = query.where((eb: ExpressionBuilder<Database, 'payment_requests'>) => {
      const ors = [];
      if (visibility.accountIds.length > 0) {
        ors.push(eb('payee_account_id', 'in', visibility.accountIds), eb('payer_account_id', 'in', visibility.accountIds));
      }
      if (visibility.partyIds.length > 0) {
        ors.push(eb('payee_party_id', 'in', visibility.partyIds), eb('payer_party_id', 'in', visibility.partyIds));
      }
      return ors.length === 0 ? sql<SqlBool>`1 = 0` : eb.or(ors);
    });
  }
  if (page.cursor !== undefined) query = query.where('id', '<', page.cursor);
  const rows = await query.orderBy('id', 'desc').limit(page.limit + 1).execute();
  return rows.map(rowToPaymentRequest);
}

/**
 * Claims up to `limit` pending requests due at `now`, oldest expiry first, for the caller's
 * transaction. On PostgreSQL the rows are locked `FOR UPDATE SKIP LOCKED`, so concurrent
 * sweepers in other processes take disjoint batches, and a process that dies mid-batch
 * releases its claim when its connection drops. SQLite serializes writers instead.
 */
export async function claimDuePaymentRequests(tx: Tx, now: number, limit: number): Promise<PaymentRequest[]> {
  const rows = await tx.db
    .selectFrom('payment_requests')
    .selectAll()
    .where('status', '=', 'pending')
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .limit(limit)
    .$if(tx.engine === 'postgres', (q) => q.forUpdate().skipLocked())
    .execute();
  return rows.map(rowToPaymentRequest);
}

/** The payment request with this shareable code, in any org (codes are globally unique), or undefined. */
export async function findPaymentRequestByCode(tx: Db, code: string): Promise<PaymentRequest | undefined> {
  const row = await tx.db.selectFrom('payment_requests').selectAll().where('code', '=', code).executeTakeFirst();
  return row && rowToPaymentRequest(row);
}

/** The earliest `expiresAt` (epoch ms) among pending requests due at `now`, in every org, or undefined when none is due. */
export async function oldestDueExpiry(tx: Db, now: number): Promise<number | undefined> {
  const row = await tx.db.selectFrom('payment_requests').select((eb) => eb.fn.min<string | number | null>('expires_at').as('oldest')).where('status', '=', 'pending').where('expires_at', '<=', now).executeTakeFirst();
  return row?.oldest === null || row?.oldest === undefined ? undefined : Number(row.oldest);
}
