/**
 * The pieces every `/v1` resource's schemas share: decimal-string amounts, free-form JSON
 * (metadata), ids, short texts, the `{id}` path parameter and list pages. The `/v1` contract is
 * written once, as zod schemas (docs/design.md#validation-at-the-edge): request bodies, queries and
 * parameters are validated by them, responses serialized by them, the OpenAPI document generated
 * from them and the presenters in `src/app/` typed from them. Request objects are strict: an
 * unknown field is a 422. Amounts are decimal strings; their per-currency rules (decimals,
 * bounds) are checked by `domain/money.ts`. This folder imports only zod and `src/domain/`.
 */
import { z } from 'zod';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../domain/json-depth.js';

/** A decimal-string amount as it appears on the wire. */
export const amountString = z
  .string({ error: 'must be a decimal string such as "10.50" (amounts are never JSON numbers)' })
  .max(100)
  .describe('Decimal string in the currency, e.g. "100.50"');

/** An id in a request (a UUID; longer values are refused before any look-up). */
export const uuid = z.string().max(64).describe('UUID');
/** A non-empty text of at most 255 characters (names, references). */
export const shortText = z.string().min(1).max(255);

const MAX_METADATA_KEYS = 50;
const MAX_METADATA_BYTES = 8 * 1024;

/**
 * A check for free-form JSON: nested at most {@link MAX_JSON_DEPTH} (32) levels deep, the value
 * itself being level 1 (docs/api.md, "Creating"). It aborts the schema's later checks, so none of
 * them (the size bound's `JSON.stringify`) walks a deeper value; the path is the field.
 */
export function boundedDepth<T>(schema: z.ZodType<T>, field = 'the value'): z.ZodType<T> {
  return schema.refine((v) => !nestsDeeperThan(v, MAX_JSON_DEPTH), { error: `${field} may nest at most ${MAX_JSON_DEPTH} levels of objects and arrays`, abort: true });
}

/** Free-form JSON object: at most 32 levels deep, 50 keys of at most 40 characters, 8 KiB serialized. */
export const metadataSchema = boundedDepth(z.record(z.string().min(1).max(40), z.unknown()), 'metadata')
  .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, `metadata may have at most ${MAX_METADATA_KEYS} keys`)
  .refine((m) => JSON.stringify(m).length <= MAX_METADATA_BYTES, `metadata may be at most ${MAX_METADATA_BYTES} bytes of JSON`);

/** An https URL of at most 255 characters (a payment request's redirect URLs). */
export const httpsUrl = z
  .url({ protocol: /^https$/, error: 'must be an https URL' })
  .max(255);

/** `{id}` path parameter. */
export const idParams = z.strictObject({ id: z.string().max(64) });

/** `limit` of a list query: 1 to 100, default 20. */
export const limit = z.coerce.number().int().min(1).max(100).default(20);

/** A nullable string in a response. */
export const nullableString = z.string().nullable();

/** A page of a list. */
export function listResponse<T extends z.ZodType>(item: T) {
  return z.object({ object: z.literal('list'), data: z.array(item), hasMore: z.boolean(), nextCursor: z.string().nullable() });
}

/** A page query without filters: `limit` and the `cursor` of the previous page (API keys, an endpoint's deliveries). */
export const pageQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(20), cursor: z.string().max(64).optional() });
