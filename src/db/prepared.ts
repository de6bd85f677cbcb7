/**
 * Queries built and compiled once, then run with new values: the hot queries of create, get and
 * approve. Kysely builds an immutable operation tree and compiles it to SQL on every call; for a
 * query whose shape never changes that is pure overhead (about a tenth of an approval's time on
 * SQLite, docs/performance.md). Repositories stay the only place with SQL: a repository declares
 * its hot query with {@link preparedQuery} and calls the result instead of building the query.
 */
import { CompiledQuery, type Compilable, type Kysely, type QueryResult, type RawBuilder } from 'kysely';
import type { Engine } from './engine.js';
import type { Database } from './schema.js';

/**
 * Where a prepared query runs: a database or a transaction on it (src/db/tx.ts's `Db` and `Tx`,
 * and src/db/store.ts's `Store`, are all one), with its engine, since each engine compiles its own SQL.
 */
export interface QueryTarget {
  db: Kysely<Database>;
  engine: Engine;
}

/**
 * The values a prepared query takes: scalars, arrays of scalars (an `in` list), or arrays of
 * records of scalars (the rows of a multi-row insert). Arrays may differ in length from call to
 * call, and values may be undefined: each such shape compiles once.
 */
export type PreparedParams = Record<string, unknown>;

/** Where each compiled parameter comes from: a path into the params, or a constant of the query. */
type Source = { path: readonly (string | number)[] } | { constant: unknown };

interface Compiled {
  sql: string;
  sources: Source[];
}

/** A marker standing for one value while the query is built; found again among the compiled parameters by identity. */
class Marker {
  constructor(readonly path: readonly (string | number)[]) {}
}

/**
 * The params with every scalar replaced by a {@link Marker} of its path (records and arrays
 * kept; `undefined` kept, since Kysely leaves an undefined column out of an insert).
 */
function markersOf(value: unknown, path: (string | number)[]): unknown {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map((item, i) => markersOf(item, [...path, i]));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, markersOf(v, [...path, k])]));
  }
  return new Marker(path);
}

/** The shape of the params (keys, array lengths and which values are undefined): one compiled query per shape. */
function shapeOf(value: unknown): string {
  if (value === undefined) return 'u';
  if (Array.isArray(value)) return `[${value.map(shapeOf).join(',')}]`;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return `{${Object.keys(value).map((k) => `${k}:${shapeOf((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return '';
}

function valueAt(params: unknown, path: readonly (string | number)[]): unknown {
  let value = params;
  for (const key of path) value = (value as Record<string | number, unknown>)[key];
  return value;
}

/**
 * The SQL texts of every prepared query compiled in this process. PostgreSQL connections keep
 * these, and only these, as named prepared statements (src/db/postgres.ts): they are the hot, simple
 * queries whose plan does not depend on the values. Other queries (a claim with a subquery, a
 * list with filters) stay unnamed, so PostgreSQL plans them for their values each time: a cached
 * generic plan made the webhook claim query many times slower.
 */
export const preparedTexts = new Set<string>();

/** Largest number of shapes kept per query and engine; past it each new shape compiles without being kept. */
const MAX_SHAPES = 64;

/**
 * Declares a query (a Kysely query builder, or a `sql` template) that is built by `build` once
 * per engine and params shape (keys and array lengths), and afterwards only run: `build`
 * receives markers in place of the values, and each compiled parameter is traced back to the
 * marker it came from. A value the query holds itself
 * (a constant such as `disabled = 0`) stays a constant.
 *
 * `build` must use every value only as a value (in `where`, `values`, `set`, `limit`), never to
 * decide the query's shape (an `if` on a value, a value as a column name): the markers would
 * take the same branch every time. Values that decide a shape belong in separate queries.
 *
 * @returns a function running the query on `tx` with `params`, answering Kysely's QueryResult
 *   (`rows`, and `numAffectedRows` for writes).
 * @throws Error (a bug) when a marker reaches the compiled SQL other than as a parameter.
 */
export function preparedQuery<P extends PreparedParams, R>(build: (db: Kysely<Database>, params: P) => Compilable<R> | RawBuilder<R>): (tx: QueryTarget, params: P) => Promise<QueryResult<R>> {
  const compiled = new Map<Engine, Map<string, Compiled>>();
  const compile = (tx: QueryTarget, params: P): Compiled => {
    // A query builder compiles itself; a `sql` template needs the database it compiles for.
    const query = build(tx.db, markersOf(params, []) as P).compile(tx.db);
    const sources = query.parameters.map((p): Source => (p instanceof Marker ? { path: p.path } : { constant: p }));
    if (query.sql.includes('[object Object]')) throw new Error('a prepared query used a value other than as a parameter');
    preparedTexts.add(query.sql);
    return { sql: query.sql, sources };
  };
  return async (tx, params) => {
    let shapes = compiled.get(tx.engine);
    if (!shapes) compiled.set(tx.engine, (shapes = new Map<string, Compiled>()));
    const shape = shapeOf(params);
    let query = shapes.get(shape);
    if (!query) {
      query = compile(tx, params);
      if (shapes.size < MAX_SHAPES) shapes.set(shape, query);
    }
    const values = query.sources.map((s) => ('path' in s ? valueAt(params, s.path) : s.constant));
    return tx.db.executeQuery<R>(CompiledQuery.raw(query.sql, values));
  };
}
