/**
 * Integer numbers per org and mode (parties, party accounts, payment requests): the ids that
 * Pismo and DeltaPay speak in. Allocated by an upsert on the counter row, which on PostgreSQL
 * holds that row locked until the transaction ends: numbers are unique, increase with
 * creation, and a rolled-back creation gives its number back.
 */
import { sql } from 'kysely';
import type { Mode } from '../domain/payment-request.js';
import type { Tx } from './store.js';

/** What a number counts. */
export type NumberKind = 'party' | 'account' | 'payment_request';

/**
 * The next number of `kind` in an org and mode (1 for the first), inside the caller's
 * transaction; or, with `explicit`, that number (an id kept from the provider an integration
 * moves from), after which numbering continues above it. A taken explicit number fails on the
 * table's unique `(org_id, mode, number)` index.
 */
export async function nextNumber(tx: Tx, orgId: string, mode: Mode, kind: NumberKind, explicit?: number): Promise<number> {
  if (explicit !== undefined) {
    const larger = tx.engine === 'postgres' ? sql<number>`greatest(number_counters.last, ${explicit})` : sql<number>`max(number_counters.last, ${explicit})`;
    await tx.db
      .insertInto('number_counters')
      .values({ org_id: orgId, mode, kind, last: explicit })
      .onConflict((oc) => oc.columns(['org_id', 'mode', 'kind']).doUpdateSet({ last: larger }))
      .execute();
    return explicit;
  }
  const row = await tx.db
    .insertInto('number_counters')
    .values({ org_id: orgId, mode, kind, last: 1 })
    .onConflict((oc) => oc.columns(['org_id', 'mode', 'kind']).doUpdateSet({ last: sql<number>`number_counters.last + 1` }))
    .returning('last')
    .executeTakeFirstOrThrow();
  return Number(row.last);
}
