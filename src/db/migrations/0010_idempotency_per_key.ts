/**
 * Migration `0010_idempotency_per_key`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts).
 */
import { type Kysely, type Migration, sql } from 'kysely';

/** The database engines, as this migration knows them. */
type Engine = 'sqlite' | 'postgres';

/* eslint-disable @typescript-eslint/no-explicit-any -- a migration runs against the schema as it was, not as it is now */
/**
 * Idempotency keys per API key, with sealed answers, and AlphaPo's signature replays (issue 19):
 * `idempotency_keys` gains `api_key_id` in its primary key (an answer belongs to the credential
 * that sent the key) and its `response_body` is sealed from now on. Rows from before held their
 * answers in plain text, secrets shown once among them, and name no API key: they are all
 * deleted (docs/api.md, "Idempotency keys": a retry of a request answered before the upgrade
 * runs again). On SQLite `secure_delete` is on for the purge, so that the freed pages are
 * overwritten with zeros rather than left in the file; `created_at` is indexed for the sweeper
 * that deletes records past their 24 hours. `alphapo_signatures` keeps the digests of
 * the signatures that created requests (docs/dialects/alphapo.md, "Replays").
 */
export function idempotencyPerKey(engine: Engine): Migration {
  return {
    async up(db: Kysely<any>) {
      const secureDelete = engine === 'sqlite' ? (await sql<{ secure_delete: number }>`pragma secure_delete`.execute(db)).rows[0]?.secure_delete ?? 0 : 0;
      if (engine === 'sqlite') await sql`pragma secure_delete = on`.execute(db);
      await db.deleteFrom('idempotency_keys').execute();
      await db.schema.dropTable('idempotency_keys').execute();
      if (engine === 'sqlite') await sql.raw(`pragma secure_delete = ${secureDelete === 1 ? 'on' : 'off'}`).execute(db);
      await db.schema.createTable('idempotency_keys')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('api_key_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('claim_token', 'text')
        .addColumn('locked_until', 'bigint')
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['org_id', 'mode', 'api_key_id', 'key'])
        .execute();
      // The sweeper deletes records past their 24 hours by this index.
      await db.schema.createIndex('idempotency_keys_created').on('idempotency_keys').column('created_at').execute();
      await db.schema.createTable('alphapo_signatures')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alphapo_signatures_created').on('alphapo_signatures').columns(['org_id', 'mode', 'created_at']).execute();
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
