/**
 * The one constructor of a {@link Payment}: every rail (ledger, external, evm) builds the
 * payment it stores here, so a new field is added in one place.
 */
import { newId } from '../domain/ids.js';
import type { PaymentRequest } from '../domain/payment-request.js';
import type { ChainPaymentDetails, Payment, Rail } from '../db/payment.repository.js';

/** What a new payment says beyond its request: amounts are minor units (see {@link Payment}). */
export interface NewPaymentInput {
  /** The id, when the caller needed it before (a transition names the payment); default: a new one. */
  id?: string | undefined;
  rail: Rail;
  /** The currency paid in: the request's or one of its payment options'. */
  currency: string;
  /** What was paid, in minor units of `currency`. */
  amount: bigint;
  /** What it counts for in minor units of the request's currency (0 until applied). */
  appliedAmount: bigint;
  /** The rail's reference (a ledger transfer id, the caller's reference, the chain log). */
  reference: string;
  /** The paying ledger account; null off the ledger. */
  payerAccountId: string | null;
  status: Payment['status'];
  /** Where an `evm` payment happened; null on the other rails. */
  chain: ChainPaymentDetails | null;
}

/**
 * A new payment of `request` at `now` (epoch ms), nothing of it refunded yet. Builds the value
 * only: the caller stores it (`insertPayment`) in its transaction.
 */
export function newPayment(request: Pick<PaymentRequest, 'id' | 'orgId' | 'mode'>, input: NewPaymentInput, now: number): Payment {
  return {
    id: input.id ?? newId(),
    orgId: request.orgId,
    mode: request.mode,
    paymentRequestId: request.id,
    rail: input.rail,
    currency: input.currency,
    amount: input.amount,
    appliedAmount: input.appliedAmount,
    amountRefunded: 0n,
    reference: input.reference,
    payerAccountId: input.payerAccountId,
    status: input.status,
    chain: input.chain,
    createdAt: now,
  };
}
