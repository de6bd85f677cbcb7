/**
 * Queries compiled once (`src/db/prepared.ts`) do what the same Kysely builder does on every
 * call: generated rows (any text, nulls, left-out columns, lists of any length) written through
 * a prepared query read back exactly through a plain Kysely query, on the run's engine.
 */
import fc from 'fast-check';
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preparedQuery } from '../src/db/prepared.js';
import { openStore, type Store } from '../src/db/store.js';
import { testDatabase } from './support/database.js';

interface Probe {
  probe: { id: string; name: string; note: string | null; n: number; tag: string | undefined };
}

const database = testDatabase();
let store: Store;
const probe = (db: unknown) => db as Kysely<Probe>;

beforeAll(async () => {
  store = openStore({ url: database.url, poolSize: 2 });
  await store.migrate();
  await sql`create table probe (id text primary key, name text not null, note text, n integer not null, tag text not null default 'none')`.execute(store.db);
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

type Row = { id: string; name: string; note: string | null; n: number; tag?: string | undefined };
const insertRows = preparedQuery((db, p: { rows: Row[] }) => probe(db).insertInto('probe').values(p.rows));
const findByIds = preparedQuery((db, p: { ids: string[]; min: number }) => probe(db).selectFrom('probe').selectAll().where('id', 'in', p.ids).where('n', '>=', p.min).orderBy('id'));
const rename = preparedQuery((db, p: { name: string; id: string }) => probe(db).updateTable('probe').set({ name: p.name }).where('id', '=', p.id).where('tag', '!=', 'frozen'));

// PostgreSQL's text cannot hold NUL; everything else goes.
const text = fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => !s.includes('\u0000'));
const row = (id: string) =>
  fc.record({ name: text, note: fc.option(text, { nil: null }), n: fc.integer({ min: -1_000_000, max: 1_000_000 }), tag: fc.option(text, { nil: undefined }) }).map((r) => ({ id, ...r }));

describe('prepared queries', () => {
  it('write generated rows that a plain Kysely query reads back exactly, for batches of any size', async () => {
    let batch = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 6 }).chain((size) => fc.tuple(...Array.from({ length: size }, (_, i) => row(`b${batch}-${i}`)))), async (rows) => {
        const prefix = `b${batch++}-`;
        const fresh = rows.map((r, i) => ({ ...r, id: `${prefix}${i}` }));
        // Rows of one insert must name the same columns: give every row a tag, or none.
        const uniform = fresh.every((r) => r.tag === undefined) ? fresh : fresh.map((r) => ({ ...r, tag: r.tag ?? 'given' }));
        await store.transaction((tx) => insertRows(tx, { rows: uniform }));
        const back = await probe(store.db).selectFrom('probe').selectAll().where('id', 'like', `${prefix}%`).orderBy('id').execute();
        expect(back).toEqual(uniform.map((r) => ({ ...r, tag: r.tag ?? 'none' })).sort((a, b) => (a.id < b.id ? -1 : 1)));
      }),
      { numRuns: 60 },
    );
  });

  it('select with lists of any length as the same builder run plainly does', async () => {
    const all = await probe(store.db).selectFrom('probe').select('id').execute();
    const ids = all.map((r) => r.id);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...ids, 'missing'), { minLength: 1, maxLength: 12 }), fc.integer({ min: -1_000_000, max: 1_000_000 }), async (wanted, min) => {
        const prepared = await findByIds(store, { ids: wanted, min });
        const plain = await probe(store.db).selectFrom('probe').selectAll().where('id', 'in', wanted).where('n', '>=', min).orderBy('id').execute();
        expect(prepared.rows).toEqual(plain);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps a constant of the query and counts the rows an update changed', async () => {
    await insertRows(store, { rows: [{ id: 'c-1', name: 'one', note: null, n: 1, tag: 'frozen' }, { id: 'c-2', name: 'two', note: null, n: 2, tag: 'open' }] });
    expect((await rename(store, { name: 'changed', id: 'c-1' })).numAffectedRows).toBe(0n);
    expect((await rename(store, { name: 'changed', id: 'c-2' })).numAffectedRows).toBe(1n);
    const names = await probe(store.db).selectFrom('probe').select(['id', 'name']).where('id', 'in', ['c-1', 'c-2']).orderBy('id').execute();
    expect(names).toEqual([{ id: 'c-1', name: 'one' }, { id: 'c-2', name: 'changed' }]);
  });

  it('refuses a builder that puts a value into the SQL text instead of a parameter', async () => {
    const unsafe = preparedQuery((db, p: { column: string }) => probe(db).selectFrom('probe').select(sql.raw(String(p.column)).as('x')));
    await expect(unsafe(store, { column: 'name' })).rejects.toThrow(/other than as a parameter/);
  });
});
