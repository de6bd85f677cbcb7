/**
 * Integer numbers per org and mode (parties, party accounts, payment requests): the ids that
 * Pismo and DeltaPay speak in. Numbers are unique and increase with creation.
 *
 * Parties and accounts take theirs from an upsert on a counter row inside the creating
 * transaction ({@link nextNumber}), so a rolled-back creation gives its number back. Payment
 * requests are the hot path: on PostgreSQL such an upsert would keep the org's counter row
 * locked until the create commits, and so serialize every create of the org
 * (docs/performance.md); they take theirs from a PostgreSQL sequence per org and mode instead
 * ({@link paymentRequestSequence}), which locks nothing, so a create that fails leaves a gap.
 * On SQLite, which runs one writer at a time anyway, from the counter row, without gaps.
 */
import { sql } from 'kysely';
import type { Mode } from '../domain/payment-request.js';
import { preparedQuery } from './prepared.js';
import type { Db, Tx } from './tx.js';

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
  if (kind === 'payment_request' && tx.engine === 'postgres') {
    const next = (await nextInSequence(tx, { name: paymentRequestSequence(orgId, mode) })).rows[0]?.n;
    if (next !== null && next !== undefined) return Number(next);
    // An org without its sequence (inserted by SQL, say): the counter row, as on SQLite.
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

/** The modes an org's numbers are kept apart by. */
const MODES: readonly Mode[] = ['test', 'live'];

/**
 * The name of the PostgreSQL sequence that numbers an org and mode's payment requests:
 * `payment_request_numbers_<org id as 32 hex digits>_<mode>` (61 characters at the most, within
 * PostgreSQL's 63).
 * @throws Error when `orgId` is not a UUID.
 */
export function paymentRequestSequence(orgId: string, mode: Mode): string {
  const hex = orgId.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`org id ${orgId} is not a UUID`);
  return `payment_request_numbers_${hex}_${mode}`;
}

/**
 * Creates an org's payment request number sequences on PostgreSQL, one per mode, each
 * continuing above the largest number the org's counter row or its requests already hold (an
 * org numbered before the sequences existed). Idempotent. Nothing on SQLite. Runs with the
 * statement that inserts the org (migration 0007 holds its own copy, for the orgs there were);
 * outside a transaction too, since an org whose sequence is missing is numbered by its counter
 * row ({@link nextNumber}).
 */
export async function createNumberSequences(tx: Db, orgId: string): Promise<void> {
  if (tx.engine !== 'postgres') return;
  for (const mode of MODES) {
    const name = paymentRequestSequence(orgId, mode);
    await sql`create sequence if not exists ${sql.id(name)}`.execute(tx.db);
    await sql`
      select setval(${name}::regclass, used.last)
      from (select greatest(
        (select last from number_counters where org_id = ${orgId} and mode = ${mode} and kind = 'payment_request'),
        (select max(number) from payment_requests where org_id = ${orgId} and mode = ${mode})) as last) as used
      where used.last >= 1`.execute(tx.db);
  }
}

const nextInSequence = preparedQuery((_db, p: { name: string }) => sql<{ n: number | null }>`select nextval(to_regclass(${p.name})) as n`);
