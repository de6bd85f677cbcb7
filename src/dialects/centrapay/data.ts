/**
 * Centrapay's own data on a payment request (docs/dialects/centrapay.md): the create's fields
 * that have no canonical home (`configId`, `invoiceRef`, `partialAllowed`, …) and `externalRef`,
 * by which requests are looked up. They live in the request's dialect data under
 * {@link CENTRAPAY_DATA_KEY}, apart from the caller's /v1 `metadata` (docs/api.md "Metadata").
 */
import { z } from 'zod';
import type { DialectData } from '../../domain/payment-request.js';

/** The dialect-data key of Centrapay's slice. */
export const CENTRAPAY_DATA_KEY = 'centrapay';

/** Centrapay's slice: each field as the create gave it (`expirySeconds` in seconds). */
export const centrapayDataSchema = z.object({
  configId: z.string().optional(),
  expirySeconds: z.number().optional(),
  externalRef: z.string().optional(),
  invoiceRef: z.string().optional(),
  purchaseOrderRef: z.string().optional(),
  partialAllowed: z.boolean().optional(),
  terminalId: z.string().optional(),
  deviceId: z.string().optional(),
  operatorId: z.string().optional(),
  barcode: z.string().optional(),
  barcodeType: z.string().optional(),
  taxNumber: z.string().optional(),
});

/** Centrapay's slice of a request's dialect data. */
export type CentrapayData = z.infer<typeof centrapayDataSchema>;

/**
 * Centrapay's slice of `source.dialectData` (a request, or a stored event's data): `{}` for a
 * request made elsewhere, or when the slice does not match {@link centrapayDataSchema}.
 */
export function readCentrapayData(source: { readonly dialectData?: unknown }): CentrapayData {
  const parsed = centrapayDataSchema.safeParse((source.dialectData as Record<string, unknown> | null | undefined)?.[CENTRAPAY_DATA_KEY]);
  return parsed.success ? parsed.data : {};
}

/** Dialect data holding Centrapay's slice, for a create; undefined when the slice is empty. */
export function writeCentrapayData(data: CentrapayData): DialectData | undefined {
  const slice = centrapayDataSchema.parse(data);
  return Object.keys(slice).length === 0 ? undefined : { [CENTRAPAY_DATA_KEY]: slice };
}
