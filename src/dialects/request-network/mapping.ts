/**
 * Mapping between Payreq's payment requests and the Request Network API's shapes
 * (docs/dialects/request-network.md).
 */
import type { ChainLog, ChainReference } from '../../domain/entities.js';
import { formatAmount } from '../../domain/money.js';
import type { PaymentRequest } from '../../domain/payment-request.js';
import { effectiveStatus } from '../../domain/payment-request.js';
import type { PayMetadata, PayTransaction } from '../../rails/evm/pay.js';
import { type RequestNetworkData, readRequestNetworkData } from './data.js';
import { toRequestId, wireReference } from './ids.js';

/**
 * Payreq status → the v2 `status` word. Request Network documents `partially_paid` while a
 * request is partly paid and `paid` once fully paid; the other words are Payreq's choice for
 * states the hosted API does not describe.
 */
export const STATUS_WORDS: Readonly<Record<ReturnType<typeof effectiveStatus>, string>> = {
  pending: 'pending',
  processing: 'processing',
  paid: 'paid',
  failed: 'failed',
  cancelled: 'cancelled',
  declined: 'rejected',
  expired: 'expired',
  refunded: 'refunded',
};

/** The dialect's v2 status word of a request at `now` (epoch ms). */
export function statusWord(pr: PaymentRequest, now: number): string {
  const status = effectiveStatus(pr, now);
  if (status === 'pending' && pr.amountPaid > 0n) return 'partially_paid';
  return STATUS_WORDS[status];
}

/**
 * The reference a Request Network client knows the request by: the one of the payment
 * currency it was created with, else the first on-chain one.
 */
export function primaryReference(pr: PaymentRequest, references: ChainReference[]): ChainReference | undefined {
  const stored = readRequestNetworkData(pr)?.paymentCurrency;
  return references.find((r) => r.currency === stored) ?? references[0];
}

/**
 * `GET /v1/request/{paymentReference}` and the required part of `GET /v2/request/{requestId}`:
 * `hasBeenPaid` once the request is fully paid, the latest recorded payment's `txHash`, and
 * `isListening` from the first pay call until it is paid.
 */
export function statusBody(pr: PaymentRequest, reference: ChainReference | undefined, references: ChainReference[], logs: ChainLog[]) {
  const hasBeenPaid = pr.amountPaid > 0n && pr.amountPaid >= pr.amount;
  const recorded = logs.filter((l) => l.status === 'recorded');
  return {
    hasBeenPaid,
    paymentReference: reference ? wireReference(reference.reference) : wireReference(pr.paymentReference),
    requestId: toRequestId(pr.id),
    isListening: !hasBeenPaid && references.some((r) => r.listeningSince !== null),
    txHash: recorded[recorded.length - 1]?.txHash ?? null,
  };
}

/** The v2 extras: `status`, the recorded `payments` (amounts as decimal strings of the token) and what the create call stored. */
export function v2Extras(pr: PaymentRequest, logs: (ChainLog & { currency: string })[], decimalsOf: (currency: string) => number, now: number) {
  const stored: Partial<RequestNetworkData> = readRequestNetworkData(pr) ?? {};
  return {
    status: statusWord(pr, now),
    payments: logs
      .filter((l) => l.status === 'recorded')
      .map((l) => ({
        txHash: l.txHash,
        amount: formatAmount(l.amount, decimalsOf(l.currency)),
        currency: l.currency,
        blockNumber: l.blockNumber,
        payerAddress: l.fromAddress,
        feeAmount: formatAmount(l.feeAmount, decimalsOf(l.currency)),
        feeAddress: l.feeAddress,
      })),
    ...(stored.reference !== undefined ? { reference: stored.reference } : {}),
    ...(stored.customerInfo !== undefined ? { customerInfo: stored.customerInfo } : {}),
    ...(stored.recurrence !== undefined ? { recurrence: stored.recurrence, isRecurrenceStopped: false } : {}),
  };
}

/**
 * A transaction as the hosted API shows it: `value` is the number `0` when nothing is sent
 * (its ERC-20 example) and ethers v5's `{type: "BigNumber", hex}` when ether is sent (its
 * native example); Request Network's own clients accept both.
 */
export function wireTransaction(tx: PayTransaction) {
  return { data: tx.data, to: tx.to, value: tx.value === 0n ? 0 : { type: 'BigNumber', hex: `0x${tx.value.toString(16)}` } };
}

/** The pay response: `{transactions, metadata}`, metadata with the `paymentTransactionIndex` clients read. */
export function payBody(transactions: PayTransaction[], metadata: PayMetadata) {
  return { transactions: transactions.map(wireTransaction), metadata };
}
