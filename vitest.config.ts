/**
 * One suite, a dialect matrix: the pure domain tests run once; every test that touches a
 * database runs once on SQLite and once on PostgreSQL (`PAYREQ_TEST_ENGINE`), each test file
 * on a fresh SQLite file or PostgreSQL schema.
 *
 * PostgreSQL is `PAYREQ_TEST_DATABASE_URL` (default: the machine's local server). When it
 * cannot be reached the PostgreSQL project is left out with a warning, except under
 * `CI=true`, where it runs anyway and so fails: CI never passes without PostgreSQL.
 */
import pg from 'pg';
import { defineConfig } from 'vitest/config';

const postgresUrl = process.env['PAYREQ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const ci = process.env['CI'] === 'true';
const withPostgres = ci || (await reachable(postgresUrl));
if (!withPostgres) {
  process.stderr.write(`\nPostgreSQL at ${postgresUrl} is not reachable: running the SQLite half of the matrix only (under CI=true this fails instead).\n\n`);
}
const databaseTests = ['test/**/*.test.ts'];
const pureTests = ['test/domain/**/*.test.ts', 'test/docs.test.ts', 'test/meta/**/*.test.ts'];
const engines = withPostgres ? (['sqlite', 'postgres'] as const) : (['sqlite'] as const);

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'domain', include: pureTests } },
      ...engines.map((engine) => ({
        extends: true as const,
        test: {
          name: engine,
          include: databaseTests,
          // The multi-process scale tests need PostgreSQL (several processes on one database), and
          // test/postgres/ tests what only PostgreSQL has (prepared statements on its connections).
          exclude: [...pureTests, ...(engine === 'postgres' ? [] : ['test/scale/**', 'test/postgres/**'])],
          env: { PAYREQ_TEST_ENGINE: engine, PAYREQ_TEST_DATABASE_URL: postgresUrl },
        },
      })),
    ],
  },
});
