/**
 * Upgrades (docs/deployment.md, "Upgrading"): `payreq migrate --dry-run` lists the pending
 * migrations without running them; a database migrated by a newer Payreq (a migration in
 * `kysely_migration` this build does not know) is refused by `serve`, `migrate` and the dry run,
 * with a message naming it, exit 1 and nothing served.
 */
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnPayreq } from '../../scripts/lib/process.js';
import { migrations } from '../../src/db/migrations/index.js';
import { openStore } from '../../src/db/store.js';
import { type TestDatabase, testDatabase } from '../support/database.js';

const databases: TestDatabase[] = [];
function fresh(): TestDatabase {
  const database = testDatabase();
  databases.push(database);
  return database;
}
afterAll(async () => {
  for (const database of databases) await database.drop();
});

async function run(args: string[], database: TestDatabase): Promise<{ status: number | null; output: string }> {
  const proc = spawnPayreq(args, { PAYREQ_DATABASE_URL: database.url });
  const status = await proc.exited;
  return { status, output: proc.output() };
}

describe('payreq migrate --dry-run', () => {
  it('lists every migration on a fresh database, runs none, and says none once migrated', { timeout: 120_000 }, async () => {
    const database = fresh();
    const all = Object.keys(migrations(database.engine)).sort();
    const listed = await run(['migrate', '--dry-run'], database);
    expect(listed.status, listed.output).toBe(0);
    expect(listed.output).toBe(`${all.join('\n')}\n`);
    // Nothing ran: the same list again.
    expect((await run(['migrate', '--dry-run'], database)).output).toBe(`${all.join('\n')}\n`);
    const migrated = await run(['migrate'], database);
    expect(migrated.status, migrated.output).toBe(0);
    expect(migrated.output).toContain(`applied: ${all.join(', ')}`);
    const none = await run(['migrate', '--dry-run'], database);
    expect(none.status, none.output).toBe(0);
    expect(none.output).toBe('none\n');
  });
});

describe('a database newer than this build', () => {
  it('is refused by serve, migrate and the dry run, naming the unknown migration', { timeout: 120_000 }, async () => {
    const database = fresh();
    expect((await run(['migrate'], database)).status).toBe(0);
    const store = openStore({ url: database.url, poolSize: 1 });
    try {
      await sql`insert into kysely_migration (name, timestamp) values ('9999_from_the_future', ${new Date().toISOString()})`.execute(store.db);
    } finally {
      await store.close();
    }
    const said = /the database was migrated by a newer Payreq: it has run migrations this build does not know \(9999_from_the_future\)\. Run the newer build \(or a later one\) on it, or restore the backup taken before the upgrade/;
    const port = await freePort();
    const server = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url });
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(said);
    expect(server.output()).not.toMatch(/\n\s+at /);
    // Never a half-start: nothing listened.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    for (const args of [['migrate'], ['migrate', '--dry-run']]) {
      const refused = await run(args, database);
      expect(refused.status, args.join(' ')).toBe(1);
      expect(refused.output).toMatch(said);
    }
  });
});
