/**
 * DeltaPay's status words and payment request view (docs/dialects/deltapay.md). The view is
 * the documented callback body (without `signature`); the GET routes answer the same shape,
 * which DeltaPay leaves undocumented (Payreq's choice: one shape everywhere).
 */
import type { PaymentRequestJson } from '../../contract/v1/payment-requests.js';
import type { PaymentRequestStatus } from '../../domain/payment-request.js';
import { shortestDecimal } from '../../domain/money.js';
import { jsonAmount } from '../json-numbers.js';
import type { DeltaPayData } from './data.js';

/**
 * Payreq status → DeltaPay's word. `pending`, `approved`, `succeeded`, `failed`, `rejected`,
 * `cancelled` are documented; an expired request reads as `cancelled` (DeltaPay has no expiry
 * word, and a client's switch over the documented words handles it), a refunded one as
 * `reversed` (the state DeltaPay's guide lists as coming).
 */
export const DELTAPAY_STATUS: Readonly<Record<PaymentRequestStatus, string>> = {
  pending: 'pending',
  processing: 'approved',
  paid: 'succeeded',
  failed: 'failed',
  cancelled: 'cancelled',
  declined: 'rejected',
  expired: 'cancelled',
  refunded: 'reversed',
};

/** A DeltaPay status word → the Payreq statuses it stands for (a `status` filter). */
export function statusesOf(word: string): PaymentRequestStatus[] | undefined {
  const matches = (Object.entries(DELTAPAY_STATUS) as [PaymentRequestStatus, string][]).filter(([, w]) => w === word).map(([s]) => s);
  return matches.length === 0 ? undefined : matches;
}

/** The DeltaPay transaction status that goes with a request status (null before approval). */
const TRANSACTION_STATUS: Readonly<Partial<Record<PaymentRequestStatus, string>>> = {
  processing: 'approved',
  paid: 'succeeded',
  failed: 'failed',
  refunded: 'reversed',
};

/**
 * A payment request as DeltaPay shows it: `payment_request_id` and `account_id` are Payreq's
 * numbers; the sender (who asks) is the payee side, shown as a user or a legal entity by its
 * kind; the recipient (who pays) is the payer user. `request_time` is naive ISO (no `Z`), as in
 * DeltaPay's example; `amount` is a JSON number. `metadata` and `timeout` come from DeltaPay's
 * own data on the request (src/dialects/deltapay/data.ts), never from the caller's /v1 metadata.
 */
export function deltapayView(pr: PaymentRequestJson, data: DeltaPayData) {
  const transactionStatus = TRANSACTION_STATUS[pr.status] ?? null;
  return {
    payment_request_id: pr.number,
    payment_request_status: DELTAPAY_STATUS[pr.status],
    account_id: pr.payee.accountNumber,
    transaction_type: pr.transactionType,
    // A transaction exists once the request was approved; Payreq numbers it as its request.
    transaction_id: transactionStatus === null ? null : pr.number,
    transaction_status: transactionStatus,
    till_name: null,
    till_id: pr.tillId === null ? null : Number(pr.tillId),
    note: pr.description,
    metadata: data.metadata ?? null,
    request_time: pr.createdAt.replace(/Z$/, ''),
    timeout: data.timeout ?? null,
    sender_user_id: pr.payee.partyType === 'user' ? pr.payee.partyNumber : null,
    sender_legal_entity_id: pr.payee.partyType === 'legal_entity' ? pr.payee.partyNumber : null,
    recipient_user_id: pr.payer?.partyNumber ?? null,
    sender_name: pr.payee.name,
    recipient_name: pr.payer?.name ?? null,
    amount: jsonAmount(shortestDecimal(pr.amount)),
  };
}
