/**
 * Payments received and refunds made against payment requests, in minor units, and the one
 * constructor of a {@link Payment}: every rail (ledger, external, evm) builds the payment it
 * stores with {@link newPayment}, so a new field is added in one place. Times are epoch ms.
 */
import { newId } from './ids.js';
import type { Mode, PaymentRequest } from './payment-request.js';

/** How money arrived: the internal ledger, an EVM chain, or recorded from outside. */
export type Rail = 'ledger' | 'evm' | 'external';

/**
 * Where an `evm` payment happened. `feeAmount` is in token base units; addresses and hashes
 * are lower case; `tokenAddress` is the native-currency placeholder for a native payment.
 */
export interface ChainPaymentDetails {
  network: string;
  chainId: number;
  txHash: string;
  logIndex: number;
  blockNumber: number;
  blockHash: string;
  /** The transaction's sender (the payer's wallet), when known. */
  from: string | null;
  to: string;
  tokenAddress: string;
  feeAmount: bigint;
  feeAddress: string;
}

/**
 * A payment. `amount` is in minor units of `currency` (the invoice currency or a payment
 * option's); `appliedAmount` is what it counts for in the request's currency. `status` is
 * `requires_refund` when it arrived for a request no longer payable (recorded, never lost);
 * `reverted` when a chain reorganization removed it after it was recorded (it no longer counts);
 * `held` when it was recorded under `PAYREQ_HOLD_RECORDED_PAYMENTS` and awaits `payments:confirm`
 * (it moved no money and does not count yet).
 */
export interface Payment {
  id: string;
  orgId: string;
  mode: Mode;
  paymentRequestId: string;
  rail: Rail;
  currency: string;
  amount: bigint;
  appliedAmount: bigint;
  amountRefunded: bigint;
  reference: string;
  payerAccountId: string | null;
  status: 'applied' | 'requires_refund' | 'reverted' | 'held';
  /** On-chain details of an `evm` payment; null on the other rails. */
  chain: ChainPaymentDetails | null;
  createdAt: number;
}

/** A refund in minor units of the request's currency. */
export interface Refund {
  id: string;
  orgId: string;
  mode: Mode;
  paymentRequestId: string;
  amount: bigint;
  reason: string | null;
  createdBy: string | null;
  createdAt: number;
  /** The caller's reference (Centrapay's `externalRef`), unique per request; null when none was given. */
  reference: string | null;
}

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
