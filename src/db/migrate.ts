/**
 * Runs the migrations of src/db/migrations/ with Kysely's Migrator.
 */
import { type Kysely, type MigrationProvider, Migrator } from 'kysely';
import type { Engine } from './engine.js';
import { migrations } from './migrations/index.js';

/**
 * Runs every pending migration.
 * @param schema - on PostgreSQL, the schema that holds Payreq's tables (default `public`); the
 *   migration bookkeeping lives there too, so that databases with several Payreq schemas keep
 *   their histories apart.
 * @returns the names of the migrations applied, in order.
 * @throws Error with the failing migration's cause when one fails (nothing after it runs).
 */
export async function migrateToLatest(db: Kysely<unknown>, engine: Engine, schema?: string): Promise<string[]> {
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
