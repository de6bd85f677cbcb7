/**
 * `/v1/payment-requests/{id}/payments`: recording and confirming a payment, and the payment as
 * returned. Amounts are decimal strings; times are RFC 3339 strings.
 */
import { z } from 'zod';
import { amountString, nullableString, shortText } from './common.js';
import { paymentRequestResponse } from './payment-requests.js';

/** `POST /v1/payment-requests/{id}/payments` body. */
export const recordPaymentBody = z.strictObject({
  amount: amountString,
  reference: shortText.describe('The payment processor\'s own reference; the payment is idempotent by it'),
  currency: z.string().min(1).max(64).optional().describe('Defaults to the request\'s currency; may be a payment option\'s'),
});

/** `POST /v1/payment-requests/{id}/payments/confirm` body: which held payment to confirm. */
export const confirmPaymentBody = z.strictObject({
  reference: shortText.describe('The reference the payment was recorded with'),
});

/** A payment as returned. */
export const paymentResponse = z.object({
  id: z.string(),
  object: z.literal('payment'),
  paymentRequestId: z.string(),
  rail: z.enum(['ledger', 'evm', 'external']),
  amount: z.string(),
  currency: z.string(),
  appliedAmount: z.string(),
  amountRefunded: z.string(),
  reference: z.string(),
  payerAccountId: nullableString,
  status: z.enum(['applied', 'requires_refund', 'reverted', 'held']),
  network: nullableString,
  chainId: z.number().int().nullable(),
  txHash: nullableString,
  logIndex: z.number().int().nullable(),
  blockNumber: z.number().int().nullable(),
  from: nullableString,
  to: nullableString,
  tokenAddress: nullableString,
  feeAmount: nullableString,
  feeAddress: nullableString,
  createdAt: z.string(),
  paymentRequest: paymentRequestResponse,
});

/** The JSON of a payment, with the payment request it counts for. */
export type PaymentJson = z.input<typeof paymentResponse>;
