/**
 * `/v1/payment-requests/{id}/refunds`: a refund's request and the refund as returned. Amounts are
 * decimal strings in the request's currency; times are RFC 3339 strings.
 */
import { z } from 'zod';
import { amountString, nullableString, shortText } from './common.js';
import { paymentRequestResponse } from './payment-requests.js';

/** `POST /v1/payment-requests/{id}/refunds` body. */
export const refundBody = z.strictObject({
  amount: amountString,
  reason: z.string().max(255).optional(),
  reference: shortText.optional().describe('Your reference for this refund, unique per request: a repeat with the same amount answers the first refund (Centrapay\'s externalRef)'),
});

/** A refund as returned. */
export const refundResponse = z.object({
  id: z.string(),
  object: z.literal('refund'),
  paymentRequestId: z.string(),
  amount: z.string(),
  currency: z.string(),
  reason: nullableString,
  reference: nullableString,
  createdAt: z.string(),
  paymentRequest: paymentRequestResponse,
});

/** The JSON of a refund, with the payment request it was made against. */
export type RefundJson = z.input<typeof refundResponse>;
