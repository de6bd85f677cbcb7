/** Payments received and refunds made against payment requests. Amounts are minor units. */
import type { Mode } from '../domain/payment-request.js';
import type { ChainPaymentDetails, Payment, Rail, Refund } from '../domain/payment.js';
import { preparedQuery } from './prepared.js';
import type { NewPaymentRow, PaymentRow, RefundRow } from './schema.js';
import type { Db } from './tx.js';

/** Maps a row to a {@link Payment}. */
export function rowToPayment(row: PaymentRow): Payment {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    paymentRequestId: row.payment_request_id,
    rail: row.rail as Rail,
    currency: row.currency,
    amount: BigInt(row.amount),
    appliedAmount: BigInt(row.applied_amount),
    amountRefunded: BigInt(row.amount_refunded),
    reference: row.reference,
    payerAccountId: row.payer_account_id,
    status: row.status as Payment['status'],
    chain: row.chain === null ? null : chainFromJson(row.chain),
    createdAt: Number(row.created_at),
  };
}

function chainFromJson(text: string): ChainPaymentDetails {
  const stored = JSON.parse(text) as Omit<ChainPaymentDetails, 'feeAmount'> & { feeAmount: string };
  return { ...stored, feeAmount: BigInt(stored.feeAmount) };
}

/** Inserts a payment; `(org, mode, rail, reference)` is unique. */
export async function insertPayment(tx: Db, p: Payment): Promise<void> {
  await insertPaymentRow(tx, {
    row: {
      id: p.id,
      org_id: p.orgId,
      mode: p.mode,
      payment_request_id: p.paymentRequestId,
      rail: p.rail,
      currency: p.currency,
      amount: p.amount.toString(),
      applied_amount: p.appliedAmount.toString(),
      amount_refunded: p.amountRefunded.toString(),
      reference: p.reference,
      payer_account_id: p.payerAccountId,
      status: p.status,
      chain: p.chain === null ? null : JSON.stringify({ ...p.chain, feeAmount: p.chain.feeAmount.toString() }),
      created_at: p.createdAt,
    },
  });
}

const insertPaymentRow = preparedQuery((db, p: { row: NewPaymentRow }) => db.insertInto('payments').values(p.row));

/** The payment with this id, or undefined. */
export async function findPaymentById(tx: Db, id: string): Promise<Payment | undefined> {
  const row = await tx.db.selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst();
  return row && rowToPayment(row);
}

/** Sets a payment's status (`reverted` after a reorg). */
export async function setPaymentStatus(tx: Db, id: string, status: Payment['status']): Promise<void> {
  await tx.db.updateTable('payments').set({ status }).where('id', '=', id).execute();
}

/** Sets a held payment's outcome once confirmed: its status and what it counts for (minor units of the request's currency). */
export async function setPaymentApplied(tx: Db, id: string, status: Payment['status'], appliedAmount: bigint): Promise<void> {
  await tx.db.updateTable('payments').set({ status, applied_amount: appliedAmount.toString() }).where('id', '=', id).execute();
}

/** The payment on a rail with this reference, or undefined. */
export async function findPaymentByReference(tx: Db, orgId: string, mode: Mode, rail: Rail, reference: string): Promise<Payment | undefined> {
  const row = await tx.db
    .selectFrom('payments')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('mode', '=', mode)
    .where('rail', '=', rail)
    .where('reference', '=', reference)
    .executeTakeFirst();
  return row && rowToPayment(row);
}

/** A request's payments, oldest first. */
export async function listPayments(tx: Db, paymentRequestId: string): Promise<Payment[]> {
  const rows = await tx.db.selectFrom('payments').selectAll().where('payment_request_id', '=', paymentRequestId).orderBy('id').execute();
  return rows.map(rowToPayment);
}

/** Sets how much of a payment has been refunded. */
export async function setPaymentRefunded(tx: Db, id: string, amountRefunded: bigint): Promise<void> {
  await tx.db.updateTable('payments').set({ amount_refunded: amountRefunded.toString() }).where('id', '=', id).execute();
}

/** Inserts a refund. */
export async function insertRefund(tx: Db, r: Refund): Promise<void> {
  await tx.db
    .insertInto('refunds')
    .values({
      id: r.id,
      org_id: r.orgId,
      mode: r.mode,
      payment_request_id: r.paymentRequestId,
      amount: r.amount.toString(),
      reason: r.reason,
      created_by: r.createdBy,
      created_at: r.createdAt,
      reference: r.reference,
    })
    .execute();
}

/** Maps a row to a {@link Refund}. */
export function rowToRefund(row: RefundRow): Refund {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    paymentRequestId: row.payment_request_id,
    amount: BigInt(row.amount),
    reason: row.reason,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
    reference: row.reference,
  };
}

/** The refund of a request with the caller's `reference`, or undefined. */
export async function findRefundByReference(tx: Db, paymentRequestId: string, reference: string): Promise<Refund | undefined> {
  const row = await tx.db.selectFrom('refunds').selectAll().where('payment_request_id', '=', paymentRequestId).where('reference', '=', reference).executeTakeFirst();
  return row && rowToRefund(row);
}
