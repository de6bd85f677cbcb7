/**
 * Pismo's own data on a payment request (docs/dialects/pismo.md, "Stored fields"): the `location`
 * of a create, which Payreq has no column for. It lives in the request's dialect data under
 * {@link PISMO_DATA_KEY}, apart from the caller's `metadata` (docs/api.md "Metadata"), so a /v1
 * caller can neither read nor forge it.
 */
import { z } from 'zod';
import type { DialectData } from '../../domain/payment-request.js';

/** The dialect-data key of Pismo's slice. */
export const PISMO_DATA_KEY = 'pismo';

/** Pismo's slice: `location` as the create gave it (any JSON; Pismo's guide shows an object). */
export const pismoDataSchema = z.object({ location: z.unknown().optional() });

/** Pismo's slice of a request's dialect data. */
export type PismoData = z.infer<typeof pismoDataSchema>;

/**
 * Pismo's slice of `source.dialectData` (a request, or a stored event's data): `{}` when Pismo
 * wrote none or the slice does not match {@link pismoDataSchema}.
 */
export function readPismoData(source: { readonly dialectData?: unknown }): PismoData {
  const parsed = pismoDataSchema.safeParse((source.dialectData as Record<string, unknown> | null | undefined)?.[PISMO_DATA_KEY]);
  return parsed.success ? parsed.data : {};
}

/** Dialect data holding Pismo's slice, for a create; undefined when the slice is empty. */
export function writePismoData(data: PismoData): DialectData | undefined {
  const slice = pismoDataSchema.parse(data);
  return slice.location === undefined ? undefined : { [PISMO_DATA_KEY]: slice };
}
