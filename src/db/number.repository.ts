/**
 * Integer numbers per org and mode (parties, party accounts, payment requests): the ids that
 * Pismo and DeltaPay speak in. Allocated by an upsert on the counter row: numbers are unique and
 * increase with creation.
 *
 * Parties and accounts take theirs inside the creating transaction ({@link nextNumber}), so a
 * rolled-back creation gives its number back. Payment requests, the hot path, take theirs with
 * {@link takeNumberAhead}: on PostgreSQL in a statement of its own before the creating
 * transaction, since an upsert inside it keeps the org's counter row locked until that
 * transaction commits and so serializes every create of the org (docs/performance.md); a create
 * that then fails leaves a gap there. On SQLite, which serializes writers anyway, inside the
 * transaction and without gaps.
 */
import { sql } from 'kysely';
import type { Mode } from '../domain/payment-request.js';
import { preparedQuery } from './prepared.js';
import type { Store, Tx } from './store.js';

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
  const row = (await takeNext(tx, { orgId, mode, kind })).rows[0];
  if (!row) throw new Error('the number counter upsert returned no row');
  return Number(row.last);
}

const takeNext = preparedQuery((db, p: { orgId: string; mode: string; kind: string }) =>
  db
    .insertInto('number_counters')
    .values({ org_id: p.orgId, mode: p.mode, kind: p.kind, last: 1 })
    .onConflict((oc) => oc.columns(['org_id', 'mode', 'kind']).doUpdateSet({ last: sql<number>`number_counters.last + 1` }))
    .returning('last'),
);

/**
 * The next number of `kind` taken ahead of the creating transaction where that shortens a hot
 * lock: on PostgreSQL, one autocommitted upsert (the counter row is locked for that statement and
 * its commit only, not for the whole create); the number is then spent even if the create
 * fails. On SQLite, undefined: the caller takes it inside its transaction with
 * {@link nextNumber} (writers are serialized there, so nothing is gained, and no gap is left).
 * Call it outside any transaction: it uses a connection of its own.
 */
export async function takeNumberAhead(store: Store, orgId: string, mode: Mode, kind: NumberKind): Promise<number | undefined> {
  if (store.engine !== 'postgres') return undefined;
  return nextNumber(store, orgId, mode, kind);
}
