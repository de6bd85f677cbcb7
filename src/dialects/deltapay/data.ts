/**
 * DeltaPay's own data on a payment request (docs/dialects/deltapay.md): the free-form `metadata`
 * string and the `timeout` of a create, which Payreq has no columns for. They live in the
 * request's dialect data under {@link DELTAPAY_DATA_KEY}, apart from the caller's /v1 `metadata`
 * (docs/api.md "Metadata"); `from-metadata` looks requests up by the string.
 */
import { z } from 'zod';
import type { DialectData } from '../../domain/payment-request.js';

/** The dialect-data key of DeltaPay's slice. */
export const DELTAPAY_DATA_KEY = 'deltapay';

/** DeltaPay's slice: `metadata` (its free-form string) and `timeout` (seconds), each when the create gave it. */
export const deltapayDataSchema = z.object({ metadata: z.string().optional(), timeout: z.number().optional() });

/** DeltaPay's slice of a request's dialect data. */
export type DeltaPayData = z.infer<typeof deltapayDataSchema>;

/**
 * DeltaPay's slice of `source.dialectData` (a request, or a stored event's data): `{}` when
 * DeltaPay wrote none or the slice does not match {@link deltapayDataSchema}.
 */
export function readDeltaPayData(source: { readonly dialectData?: unknown }): DeltaPayData {
  const parsed = deltapayDataSchema.safeParse((source.dialectData as Record<string, unknown> | null | undefined)?.[DELTAPAY_DATA_KEY]);
  return parsed.success ? parsed.data : {};
}

/** Dialect data holding DeltaPay's slice, for a create; undefined when the slice is empty. */
export function writeDeltaPayData(data: DeltaPayData): DialectData | undefined {
  const slice = deltapayDataSchema.parse(data);
  return Object.keys(slice).length === 0 ? undefined : { [DELTAPAY_DATA_KEY]: slice };
}
