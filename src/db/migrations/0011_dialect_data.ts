/**
 * Migration `0011_dialect_data`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts).
 */
import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Dialect data in its own column (issue 20, docs/api.md "Metadata"): `payment_requests` gains
 * `dialect_data` (JSON text, keyed by dialect name), and the keys the dialects used to keep in the
 * caller's `metadata` move into it, on the requests and on the request snapshots stored in
 * `events.data` (whose `paymentRequest.metadata` loses them and which gain `dialectData`, as new
 * events carry it). Frozen: it imports nothing but Kysely, and names each key as the dialects
 * wrote it before this migration:
 * - `_pismo` (an object with `location`) → `pismo: {location}`;
 * - `_deltapay_metadata` (a string) and `_deltapay_timeout` (a number) → `deltapay: {metadata, timeout}`;
 * - `_centrapay` (an object of Centrapay fields) and `_centrapayExternalRef` (a string) →
 *   `centrapay: {...fields, externalRef}`;
 * - `requestNetwork` → `request-network`, only where the dialect wrote it: the metadata holds that
 *   one key, an object with a string `paymentCurrency` and no key the dialect never wrote. The name
 *   has no underscore, so a /v1 caller may well use it for its own data; such metadata stays put
 *   (docs/dialects/request-network.md, "Stored fields").
 * A key of another type than the dialect wrote is the caller's and stays. Metadata left empty
 * becomes NULL, as a dialect's create without caller metadata stores it. Rows are read in
 * batches of 500 by id, only those whose text names one of the keys.
 */
export function dialectData(): Migration {
  type Json = Record<string, unknown>;
  const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  const requestNetworkKeys = new Set(['paymentCurrency', 'payer', 'recurrence', 'customerInfo', 'reference', 'originalRequestId', 'originalRequestPaymentReference']);
  /** The metadata without the dialects' keys, and what they held by dialect; undefined when none is there. */
  function split(metadata: Json): { metadata: Json | null; dialectData: Record<string, Json> } | undefined {
    const rest: Json = { ...metadata };
    const data: Record<string, Json> = {};
    const pismo = rest['_pismo'];
    if (isObject(pismo) && 'location' in pismo) {
      data['pismo'] = { location: pismo['location'] };
      delete rest['_pismo'];
    }
    const deltapay: Json = {};
    if (typeof rest['_deltapay_metadata'] === 'string') {
      deltapay['metadata'] = rest['_deltapay_metadata'];
      delete rest['_deltapay_metadata'];
    }
    if (typeof rest['_deltapay_timeout'] === 'number') {
      deltapay['timeout'] = rest['_deltapay_timeout'];
      delete rest['_deltapay_timeout'];
    }
    if (Object.keys(deltapay).length > 0) data['deltapay'] = deltapay;
    const centrapay: Json = {};
    const fields = rest['_centrapay'];
    if (isObject(fields)) {
      Object.assign(centrapay, fields);
      delete rest['_centrapay'];
    }
    if (typeof rest['_centrapayExternalRef'] === 'string') {
      centrapay['externalRef'] = rest['_centrapayExternalRef'];
      delete rest['_centrapayExternalRef'];
    }
    if (Object.keys(centrapay).length > 0) data['centrapay'] = centrapay;
    const rn = rest['requestNetwork'];
    if (Object.keys(rest).length === 1 && isObject(rn) && typeof rn['paymentCurrency'] === 'string' && Object.keys(rn).every((k) => requestNetworkKeys.has(k))) {
      data['request-network'] = { ...rn };
      delete rest['requestNetwork'];
    }
    if (Object.keys(data).length === 0) return undefined;
    return { metadata: Object.keys(rest).length === 0 ? null : rest, dialectData: data };
  }
  const named = (column: string) => ['%"_pismo"%', '%"_deltapay_metadata"%', '%"_deltapay_timeout"%', '%"_centrapay"%', '%"_centrapayExternalRef"%', '%"requestNetwork"%'].map((pattern) => sql<boolean>`${sql.ref(column)} like ${pattern}`);
  const BATCH = 500;
  return {
    /* eslint-disable @typescript-eslint/no-explicit-any -- the schema as it was at 0011 */
    async up(db: Kysely<any>) {
      await db.schema.alterTable('payment_requests').addColumn('dialect_data', 'text').execute();
      for (let after = ''; ;) {
        const rows = (await db.selectFrom('payment_requests').select(['id', 'metadata']).where('id', '>', after).where((eb) => eb.or(named('metadata'))).orderBy('id').limit(BATCH).execute()) as { id: string; metadata: string }[];
        for (const row of rows) {
          const parsed: unknown = JSON.parse(row.metadata);
          const moved = isObject(parsed) ? split(parsed) : undefined;
          if (moved === undefined) continue;
          await db.updateTable('payment_requests').set({ metadata: moved.metadata === null ? null : JSON.stringify(moved.metadata), dialect_data: JSON.stringify(moved.dialectData) }).where('id', '=', row.id).execute();
        }
        if (rows.length < BATCH) break;
        after = rows[rows.length - 1]!.id;
      }
      for (let after = ''; ;) {
        const rows = (await db.selectFrom('events').select(['id', 'data']).where('id', '>', after).where((eb) => eb.or(named('data'))).orderBy('id').limit(BATCH).execute()) as { id: string; data: string }[];
        for (const row of rows) {
          const data: unknown = JSON.parse(row.data);
          if (!isObject(data) || !isObject(data['paymentRequest']) || !isObject(data['paymentRequest']['metadata'])) continue;
          const moved = split(data['paymentRequest']['metadata']);
          if (moved === undefined) continue;
          const next = { ...data, paymentRequest: { ...data['paymentRequest'], metadata: moved.metadata }, dialectData: moved.dialectData };
          await db.updateTable('events').set({ data: JSON.stringify(next) }).where('id', '=', row.id).execute();
        }
        if (rows.length < BATCH) break;
        after = rows[rows.length - 1]!.id;
      }
    },
    /* eslint-enable @typescript-eslint/no-explicit-any */
  };
}
