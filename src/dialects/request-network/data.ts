/**
 * Request Network's own data on a payment request (docs/dialects/request-network.md, "Stored
 * fields"): the create's `paymentCurrency` and the optional fields Payreq has no column for. They
 * live in the request's dialect data under {@link REQUEST_NETWORK_DATA_KEY}, apart from the
 * caller's /v1 `metadata` (docs/api.md "Metadata").
 */
import { z } from 'zod';
import type { DialectData } from '../../domain/payment-request.js';

/** The dialect-data key of Request Network's slice. */
export const REQUEST_NETWORK_DATA_KEY = 'request-network';

/** Request Network's slice: `paymentCurrency` always, the others as the create gave them. */
export const requestNetworkDataSchema = z.object({
  paymentCurrency: z.string(),
  payer: z.string().optional(),
  recurrence: z.object({ startDate: z.string().nullable(), frequency: z.string() }).optional(),
  customerInfo: z.record(z.string(), z.unknown()).optional(),
  reference: z.string().optional(),
  originalRequestId: z.string().optional(),
  originalRequestPaymentReference: z.string().optional(),
});

/** Request Network's slice of a request's dialect data. */
export type RequestNetworkData = z.infer<typeof requestNetworkDataSchema>;

/**
 * Request Network's slice of `source.dialectData` (a request, or a stored event's data):
 * undefined for a request made elsewhere, or when the slice does not match
 * {@link requestNetworkDataSchema}.
 */
export function readRequestNetworkData(source: { readonly dialectData?: unknown }): RequestNetworkData | undefined {
  const parsed = requestNetworkDataSchema.safeParse((source.dialectData as Record<string, unknown> | null | undefined)?.[REQUEST_NETWORK_DATA_KEY]);
  return parsed.success ? parsed.data : undefined;
}

/** Dialect data holding Request Network's slice, for a create. */
export function writeRequestNetworkData(data: RequestNetworkData): DialectData {
  return { [REQUEST_NETWORK_DATA_KEY]: requestNetworkDataSchema.parse(data) };
}
