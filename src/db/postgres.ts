/**
 * The PostgreSQL engine: a node-postgres pool with exact type parsers, the hot queries prepared
 * per connection, error listeners that keep a lost connection from ending the process, an
 * optional schema per database URL, and migrations under an advisory lock.
 */
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { EngineConnection } from './engine.js';
import { migrateToLatest, pendingMigrations } from './migrate.js';
import { preparedTexts } from './prepared.js';
import type { Database } from './schema.js';

/** How long a PostgreSQL call waits for a connection before failing, in ms (a database outage answers 503 within it). */
export const CONNECT_TIMEOUT_MS = 3_000;

const INT8_OID = 20;
const NUMERIC_OID = 1700;

/**
 * Type parsers for this pool only: `bigint` columns (epoch-millisecond times, counts) come back
 * as numbers, which hold them exactly below 2^53; `NUMERIC` amounts stay exact strings.
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown => {
    if (oid === INT8_OID) return (value: string) => Number(value);
    if (oid === NUMERIC_OID) return (value: string) => value;
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** How many distinct statements one PostgreSQL connection keeps prepared (the rest run unnamed). */
const PREPARED_PER_CONNECTION = 256;

/**
 * Named prepared statements on every connection of `pool`. Kysely sends each query as an
 * unnamed statement, which PostgreSQL parses and plans on every execution; the hot queries
 * (those declared with `preparedQuery`, {@link preparedTexts}) are few and repeat, so each
 * connection gives each of them a name the first time it runs it, and node-postgres then sends
 * only Bind and Execute (measured: create on PostgreSQL +34%, docs/performance.md). Other
 * queries stay unnamed: PostgreSQL would switch a named statement to a generic plan after five
 * runs, and for a query whose best plan depends on its values (the webhook claim) that plan was
 * many times slower. At most {@link PREPARED_PER_CONNECTION} statements per connection.
 *
 * A statement prepared before another process's migration altered its table fails once with
 * `0A000` ("cached plan must not change result type"); the connection then names its statements
 * anew, and the store runs the transaction again (`Store.transaction` in src/db/store.ts).
 */
function preparePerConnection(pool: pg.Pool): void {
  pool.on('connect', (client) => {
    const names = new Map<string, string>();
    let generation = 0;
    const query = client.query.bind(client) as (config: unknown, values?: unknown) => Promise<pg.QueryResult>;
    const named = (text: string, values: unknown[]): Promise<pg.QueryResult> => {
      let name = names.get(text);
      if (name === undefined && names.size < PREPARED_PER_CONNECTION && preparedTexts.has(text)) {
        name = `payreq_${generation}_${names.size}`;
        names.set(text, name);
      }
      const run = name === undefined ? query(text, values) : query({ name, text, values });
      return run.catch((err: unknown) => {
        if (isStalePlan(err)) {
          names.clear();
          generation++;
        }
        throw err;
      });
    };
    // Kysely calls `query(text, parameters)` and awaits the promise; anything else goes through as it is.
    client.query = ((config: unknown, values?: unknown, callback?: unknown) =>
      typeof config === 'string' && Array.isArray(values) && values.length > 0 && callback === undefined ? named(config, values) : query(config, values)) as typeof client.query;
  });
}

/** True for PostgreSQL's `0A000` (a prepared statement's plan that a migration made stale). */
function isStalePlan(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '0A000';
}

/** A fixed 64-bit key for the migration advisory lock ("payreq" in ASCII, plus the schema's hash). */
function migrationLockKey(schema: string | undefined): bigint {
  let hash = 0x7061797265710000n;
  for (const ch of schema ?? '') hash = (hash * 31n + BigInt(ch.charCodeAt(0))) & 0x7fffffffffffffffn;
  return hash;
}

/**
 * Opens a pool of PostgreSQL connections to `url` (a `schema` query parameter puts every table in
 * that schema, through each connection's `search_path`, and migrations create it), with exact
 * type parsers and the hot queries prepared per connection ({@link preparePerConnection}).
 * Migrations run under an advisory lock, so that processes starting together migrate once.
 * Connecting is lazy: an unreachable server fails the first query, after
 * {@link CONNECT_TIMEOUT_MS}.
 * @throws Error when the `schema` parameter is not a plain lower-case identifier.
 */
export function openPostgres(url: string, poolSize: number): EngineConnection {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
  parsed.searchParams.delete('schema');
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: poolSize,
    // While PostgreSQL is away a call waits at most this long for a connection, then fails (503).
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    types,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle connection the server closed (a restart, a failover) is dropped from the pool; without
  // a listener the pool's 'error' event would end the process.
  pool.on('error', () => undefined);
  // A connection checked out of the pool but between two queries (inside a transaction, while
  // the use case awaits something else) has no pool listener: node-postgres emits the server's
  // "terminating connection" on the client itself, and unheard it would end the process. The
  // client is then not queryable, its next query fails (a 503), and the pool drops it on release.
  pool.on('connect', (client) => client.on('error', () => undefined));
  preparePerConnection(pool);
  let queries = 0;
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: () => void queries++ });
  const migrate = () =>
    // Several processes starting at once migrate exactly once: the first to take the lock
    // migrates, the others wait and then find nothing to do.
    db.connection().execute(async (conn) => {
      const key = migrationLockKey(schema);
      await sql`select pg_advisory_lock(${key})`.execute(conn);
      try {
        if (schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(conn);
        return await migrateToLatest(conn as Kysely<unknown>, 'postgres', schema);
      } finally {
        await sql`select pg_advisory_unlock(${key})`.execute(conn);
      }
    });
  return {
    db,
    engine: 'postgres',
    migrate,
    pendingMigrations: () => pendingMigrations(db as Kysely<unknown>, 'postgres', schema),
    get queries() {
      return queries;
    },
    // A commit on PostgreSQL is durable when it returns.
    committed: () => undefined,
    durable: () => Promise.resolve(),
    syncs: 0,
    // PostgreSQL broke a lock cycle by aborting the transaction (a safety net: transfers lock
    // accounts in one order), or a statement this connection prepared predates a migration of
    // its table: it wrote nothing, so it runs again from the start.
    retryable: (err) => isDeadlock(err) || isStalePlan(err),
    close: () => db.destroy(),
  };
}

/** True for PostgreSQL's `40P01` (this transaction was aborted to break a deadlock). */
function isDeadlock(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '40P01';
}
