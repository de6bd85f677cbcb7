/**
 * Runs the migrations of src/db/migrations/ with Kysely's Migrator, and says what is pending
 * (`payreq migrate --dry-run`) or that the database is newer than this build.
 */
import { type Kysely, type MigrationProvider, Migrator, sql } from 'kysely';
import type { Engine } from './engine.js';
import { DatabaseRefusal } from './errors.js';
import { migrations } from './migrations/index.js';

/**
 * The names recorded in Kysely's `kysely_migration` table (in `schema` on PostgreSQL), or none
 * when the table (or the schema) does not exist yet. Reads only.
 */
async function appliedMigrations(db: Kysely<unknown>, engine: Engine, schema: string | undefined): Promise<string[]> {
  const exists =
    engine === 'sqlite'
      ? await sql<{ n: number }>`select count(*) as n from sqlite_master where type = 'table' and name = 'kysely_migration'`.execute(db)
      : await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = ${schema ?? 'public'} and table_name = 'kysely_migration'`.execute(db);
  if (Number(exists.rows[0]?.n ?? 0) === 0) return [];
  const table = engine === 'postgres' ? sql.id(schema ?? 'public', 'kysely_migration') : sql.id('kysely_migration');
  const rows = await sql<{ name: string }>`select name from ${table}`.execute(db);
  return rows.rows.map((r) => r.name);
}

/**
 * The migrations this build has not run on the database, in the order they would run.
 * @param schema - on PostgreSQL, the schema of Payreq's tables (default `public`).
 * @throws DatabaseRefusal when the database has run migrations this build does not know
 *   ({@link refuseNewerDatabase}).
 */
export async function pendingMigrations(db: Kysely<unknown>, engine: Engine, schema?: string): Promise<string[]> {
  const applied = new Set(await appliedMigrations(db, engine, schema));
  refuseNewerDatabase([...applied], engine);
  return Object.keys(migrations(engine))
    .sort()
    .filter((name) => !applied.has(name));
}

/**
 * Refuses a database migrated by a newer Payreq: one whose `kysely_migration` names migrations
 * this build does not have. Its schema may have changed in ways this build's queries do not
 * expect, so the process stops before it serves anything (Kysely's Migrator would refuse too, as
 * "corrupted migrations"; this says what happened and what to do).
 * @throws DatabaseRefusal naming the unknown migrations.
 */
function refuseNewerDatabase(applied: readonly string[], engine: Engine): void {
  const known = migrations(engine);
  const unknown = applied.filter((name) => !(name in known)).sort();
  if (unknown.length === 0) return;
  throw new DatabaseRefusal(
    `the database was migrated by a newer Payreq: it has run migrations this build does not know (${unknown.join(', ')}). ` +
      'Run the newer build (or a later one) on it, or restore the backup taken before the upgrade (docs/deployment.md, "Upgrading").',
  );
}

/**
 * Runs every pending migration.
 * @param schema - on PostgreSQL, the schema that holds Payreq's tables (default `public`); the
 *   migration bookkeeping lives there too, so that databases with several Payreq schemas keep
 *   their histories apart.
 * @returns the names of the migrations applied, in order.
 * @throws DatabaseRefusal when the database is newer than this build (nothing runs).
 * @throws Error with the failing migration's cause when one fails (nothing after it runs).
 */
export async function migrateToLatest(db: Kysely<unknown>, engine: Engine, schema?: string): Promise<string[]> {
  refuseNewerDatabase(await appliedMigrations(db, engine, schema), engine);
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(engine)) };
  const migrator = new Migrator({ db, provider, ...(engine === 'postgres' ? { migrationTableSchema: schema ?? 'public' } : {}) });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // Kysely's migrator looks for its tables by reading every schema's columns, with
    // has_schema_privilege(name) on each: a schema another client drops during that read answers
    // 3F000 (invalid_schema_name), or 42P01 (undefined_table) for a table of it, though it is not
    // ours. Nothing ran; read again.
    const code = (error as { code?: unknown }).code;
    if (!(engine === 'postgres' && attempt < 5 && (code === '3F000' || code === '42P01'))) throw new Error('migration failed', { cause: error });
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}
