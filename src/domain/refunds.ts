/**
 * How a refund is shared among the payments of its request (docs/api.md, "Refunds"): newest
 * payment first, each giving back at most what it counted for and was not yet refunded, and a
 * payment made in another currency gets its share back at its original quote, rounded down.
 */
import { prorate } from './money.js';

/** What the allocation reads of a payment; amounts are minor units of the request's currency except `amount` (the payment's own currency). */
export interface RefundablePayment {
  status: string;
  currency: string;
  /** What the payment counted for towards the request. */
  appliedAmount: bigint;
  /** What was already refunded of `appliedAmount`. */
  amountRefunded: bigint;
  /** What the payer paid, in the payment's currency. */
  amount: bigint;
}

/**
 * Shares a refund of `amount` minor units of the request's currency among `payments`: only
 * `applied` ones, newest first, each up to `appliedAmount − amountRefunded`.
 * @param payments - the request's payments oldest first (as they were made).
 * @returns the shares (payments with nothing left to refund are skipped) and what no payment
 *   could take (`unallocated`, 0 whenever the refund is within what was paid and not refunded).
 */
export function allocateRefund<P extends RefundablePayment>(payments: readonly P[], amount: bigint): { allocations: { payment: P; share: bigint }[]; unallocated: bigint } {
  const allocations: { payment: P; share: bigint }[] = [];
  let left = amount;
  for (const p of payments.filter((x) => x.status === 'applied').reverse()) {
    if (left === 0n) break;
    const share = p.appliedAmount - p.amountRefunded < left ? p.appliedAmount - p.amountRefunded : left;
    if (share <= 0n) continue;
    left -= share;
    allocations.push({ payment: p, share });
  }
  return { allocations, unallocated: left };
}

/**
 * What a `share` (minor units of `requestCurrency`) of a payment's refund is in the payment's
 * own currency: the same when the payment was in the request's currency, else its part of what
 * the payer paid at the original quote, rounded down (a payer never gets back more than it paid).
 */
export function shareInPaymentCurrency(payment: Pick<RefundablePayment, 'currency' | 'appliedAmount' | 'amount'>, share: bigint, requestCurrency: string): bigint {
  return payment.currency === requestCurrency ? share : prorate(share, payment.appliedAmount, payment.amount, 'down');
}
