/**
 * PostgreSQL connections keep the hot queries (those declared with `preparedQuery`) prepared by
 * name, and only those; a statement that a migration in another process made stale costs one
 * retry of its transaction, not an error.
 */
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { preparedQuery } from '../../src/db/prepared.js';
import { openStore } from '../../src/db/store.js';
import { testDatabase } from '../support/database.js';

const database = testDatabase('postgres');
afterAll(() => database.drop());

describe('prepared statements', () => {
  it('names each parameterized statement once per connection and runs it again by name', async () => {
    const store = openStore({ url: database.url, poolSize: 1 });
    try {
      await store.migrate(); // creates the test's schema
      await sql`create table prepared_probe (id integer primary key, a text)`.execute(store.db);
      await sql`insert into prepared_probe (id, a) values (1, 'one'), (2, 'two')`.execute(store.db);
      const hot = preparedQuery((_db, p: { id: number }) => sql<{ a: string }>`select a from prepared_probe where id = ${p.id}`);
      const found = await store.transaction(async (tx) => {
        const first = await hot(tx, { id: 1 });
        const second = await hot(tx, { id: 2 });
        // The same query written plainly is not named.
        const plain = await sql<{ a: string }>`select a from prepared_probe where id >= ${1} order by id`.execute(tx.db);
        const prepared = await sql<{ name: string; statement: string }>`select name, statement from pg_prepared_statements where not from_sql`.execute(tx.db);
        return { values: [first.rows[0]?.a, second.rows[0]?.a, ...plain.rows.map((r) => r.a)], prepared: prepared.rows };
      });
      expect(found.values).toEqual(['one', 'two', 'one', 'two']);
      const probe = found.prepared.filter((p) => p.statement.includes('from prepared_probe where id'));
      expect(probe).toHaveLength(1);
      expect(probe[0]?.statement).toContain('where id = $1');
      expect(probe[0]?.name).toMatch(/^payreq_0_\d+$/);
    } finally {
      await store.close();
    }
  });

  it('runs a transaction again when another process altered a table under a prepared statement', async () => {
    const store = openStore({ url: database.url, poolSize: 1 });
    const other = new pg.Client({ connectionString: database.url.replace(/\?schema=(\w+)$/, ''), options: `-c search_path=${new URL(database.url).searchParams.get('schema')}` });
    await other.connect();
    try {
      await store.migrate();
      await sql`create table altered_probe (id integer primary key, a text)`.execute(store.db);
      await sql`insert into altered_probe (id, a) values (1, 'one')`.execute(store.db);
      const hot = preparedQuery((_db, p: { id: number }) => sql<Record<string, unknown>>`select * from altered_probe where id = ${p.id}`);
      const read = () => store.transaction(async (tx) => (await hot(tx, { id: 1 })).rows[0]);
      expect(await read()).toEqual({ id: 1, a: 'one' });
      await other.query('alter table altered_probe add column b text');
      // The prepared `select *` no longer matches the table: the first attempt fails with 0A000.
      expect(await read()).toEqual({ id: 1, a: 'one', b: null });
    } finally {
      await other.end();
      await store.close();
    }
  });
});
