/**
 * Migration `0004_numbers`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts).
 */
import { type Kysely, type Migration, sql } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- a migration runs against the schema as it was, not as it is now */
/**
 * Integer `number`s for parties, party accounts and payment requests, per org and mode, for
 * the providers that speak in integer ids (Pismo accounts; DeltaPay users, legal entities,
 * accounts and payment requests). Allocated from `number_counters`; existing rows are numbered
 * in creation (id) order.
 */
export function numbers(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable('number_counters')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('last', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('number_counters_pk', ['org_id', 'mode', 'kind'])
        .execute();
      for (const [table, kind, where] of [['parties', 'party', sql``], ['accounts', 'account', sql`where party_id is not null`], ['payment_requests', 'payment_request', sql``]] as const) {
        await db.schema.alterTable(table).addColumn('number', 'bigint').execute();
        await sql`update ${sql.table(table)} set number = numbered.n from (select id, row_number() over (partition by org_id, mode order by id) as n from ${sql.table(table)} ${where}) as numbered where ${sql.table(table)}.id = numbered.id`.execute(db);
        await sql`insert into number_counters (org_id, mode, kind, last) select org_id, mode, ${kind}, max(number) from ${sql.table(table)} where number is not null group by org_id, mode`.execute(db);
        await db.schema.createIndex(`${table}_number`).unique().on(table).columns(['org_id', 'mode', 'number']).where(sql.ref('number'), 'is not', null).execute();
      }
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
