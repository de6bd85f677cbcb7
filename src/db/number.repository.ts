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

/** The next number of `kind` in an org and mode (1 for the first), inside the caller's transaction. */
export async function nextNumber(tx: Tx, orgId: string, mode: Mode, kind: NumberKind): Promise<number> {
  const row = await tx.db
    .insertInto('number_counters')
    .values({ org_id: orgId, mode, kind, last: 1 })
    .onConflict((oc) => oc.columns(['org_id', 'mode', 'kind']).doUpdateSet({ last: sql<number>`number_counters.last + 1` }))
    .returning('last')
    .executeTakeFirstOrThrow();
  return Number(row.last);
}
