/**
 * The store: one Kysely instance over SQLite (embedded default, src/db/sqlite.ts) or PostgreSQL
 * (src/db/postgres.ts), with the engine it runs on, so repositories can branch where SQL differs
 * (row locks, JSON access); and the transaction machinery common to both engines (retries, the
 * commit hold, events announced after commit).
 */
import { type Kysely, sql, type Transaction } from 'kysely';
import { type CommitHold, CommitHolds } from './commit-hold.js';
import type { EngineConnection } from './engine.js';
import { openPostgres } from './postgres.js';
import type { Database } from './schema.js';
import type { SecretBox } from './secrets.js';
import { openSqlite } from './sqlite.js';
import type { LockingCommand } from './sqlite-lock.js';
import { type Db, NO_KEY, type Tx, type Written } from './tx.js';

export type { Db, Tx, Written } from './tx.js';
export { boxOf } from './tx.js';

/**
 * The open database. `transaction(fn)` runs `fn` in one database transaction and commits when
 * it resolves; on PostgreSQL a transaction aborted as a deadlock victim (40P01), or by a
 * prepared statement that a migration made stale (0A000), is run again, so `fn` must keep its
 * effects inside the transaction.
 */
export interface Store extends Db {
  /**
   * The database; inside a commit hold's scope whose transaction is held, that transaction
   * (src/db/commit-hold.ts).
   */
  readonly db: Kysely<Database>;
  /**
   * Runs `fn` in one transaction, handing it the {@link Tx}, and commits when it resolves (then
   * announces the events it wrote). Inside a commit hold's scope it may be held or join the held
   * one instead (src/db/commit-hold.ts).
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * Runs pending migrations (on PostgreSQL under an advisory lock); returns the names of those applied.
   * @throws DatabaseRefusal (src/db/errors.ts) when the database is newer than this build (nothing runs).
   */
  migrate(): Promise<string[]>;
  /**
   * The migrations {@link Store.migrate} would run, in order, without running them (no lock taken).
   * @throws DatabaseRefusal when the database is newer than this build.
   */
  pendingMigrations(): Promise<string[]>;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  /**
   * Calls `listener` after each transaction of this process that wrote events has committed,
   * with the committed events' types and whether it wrote webhook deliveries (the in-process
   * wake-up for the webhook dispatcher and live streams, and the event counter of `/metrics`;
   * other processes find the events by polling).
   * Returns a function that removes the listener.
   */
  onEventsCommitted(listener: (types: readonly string[], written: { deliveries: boolean }) => void): () => void;
  /**
   * Runs `fn` (and everything it starts) in `hold`'s scope: while `hold.active` is true, the
   * first transaction that resolves in the scope is held open instead of committed, and the
   * scope's later transactions and queries run inside it, until the `HeldTransaction` set in
   * `hold.held` commits or rolls back. src/db/commit-hold.ts says which entry points use it and
   * what joining means.
   */
  runHolding<T>(hold: CommitHold, fn: () => T): T;
  /** Seals and opens secrets at rest from now on (the server sets it once it has its master key). */
  useSecrets(box: SecretBox): void;
  /** Statements sent to the database so far (`payreq_db_queries_total`). */
  readonly queries: number;
  /**
   * Resolves once every write committed before the call is on disk. In SQLite's durable mode
   * (`durable: true`) one `fdatasync` of the write-ahead log serves every write committed since the
   * last one (group commit); otherwise, and on PostgreSQL (whose commit is durable), at once.
   */
  durable(): Promise<void>;
  /** Syncs of the write-ahead log made by {@link Store.durable} so far (0 outside SQLite's durable mode). */
  readonly syncs: number;
  close(): Promise<void>;
}

/** Options for {@link openStore}. */
export interface StoreOptions {
  /**
   * `sqlite:<path>` (`sqlite::memory:` for an in-memory database), or
   * `postgres://user@host:port/db` (also `postgresql://`). A `schema` query parameter on a
   * PostgreSQL URL puts every table in that schema (created if missing).
   */
  url: string;
  /** Largest number of PostgreSQL connections (default 10). */
  poolSize?: number;
  /** SQLite: acknowledge writes only once on disk, through {@link Store.durable} (default false). */
  durable?: boolean;
  /** Seals secrets at rest; absent: secrets can be read only where stored as plain text, and not written. */
  secrets?: SecretBox;
  /**
   * SQLite: the command taking the file for itself until `close()` (one process per SQLite file,
   * src/db/sqlite-lock.ts); ignored on PostgreSQL, where any number of processes share a database.
   */
  lock?: LockingCommand;
}

/**
 * Opens the database named by `url`.
 * @throws DatabaseRefusal (src/db/errors.ts) when `lock` is given and another process holds the SQLite file.
 * @throws Error when the URL's scheme is not supported.
 */
export function openStore(options: StoreOptions): Store {
  const { url } = options;
  if (url.startsWith('sqlite:')) return makeStore(openSqlite(url.slice('sqlite:'.length), options.durable ?? false, options.lock), options.secrets);
  if (/^postgres(ql)?:\/\//.test(url)) return makeStore(openPostgres(url, options.poolSize ?? 10), options.secrets);
  throw new Error(`unsupported database URL "${url}": use sqlite:<path> or postgres://…`);
}

/**
 * True when `err` says the database cannot be reached or is going away, rather than that the
 * statement was wrong: PostgreSQL's connection and shutdown errors (class 08, 57P01–57P03,
 * 53300), the socket's (refused, reset, timed out), node-postgres' own, and SQLite's busy
 * timeout. The HTTP layer answers these 503 `service_unavailable`.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (/^08/.test(code) || ['57P01', '57P02', '57P03', '53300', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'SQLITE_BUSY'].includes(code))) return true;
  const message = (err as { message?: unknown }).message;
  return typeof message === 'string' && /Connection terminated|timeout exceeded when trying to connect|not queryable|Client was closed|connection error/i.test(message);
}

/**
 * How often a transaction that failed without effect ({@link EngineConnection.retryable}: on
 * PostgreSQL a deadlock victim or a stale prepared statement) is run (the first run included).
 */
const RETRY_ATTEMPTS = 5;

/** The store over an engine's connection: transactions, the commit hold, events announced after commit. */
function makeStore(connection: EngineConnection, secrets: SecretBox | undefined): Store {
  const { db, engine } = connection;
  const listeners = new Set<(types: readonly string[], written: { deliveries: boolean }) => void>();
  const holds = new CommitHolds();
  let box = secrets;
  const afterCommit = (written: Written) => {
    connection.committed();
    if (written.events) for (const listener of listeners) listener(written.types, { deliveries: written.deliveries === true });
  };
  const run = async <T>(trx: Transaction<Database>, written: Written, fn: (tx: Tx) => Promise<T>): Promise<T> => {
    const last: (() => Promise<void>)[] = [];
    const value = await fn({ db: trx, engine, written, beforeCommit: (work) => void last.push(work), secrets: box ?? NO_KEY });
    for (const work of last) await work();
    return value;
  };
  const handle = (trx: Transaction<Database>): Db => ({ db: trx, engine, ...(box ? { secrets: box } : {}) });
  return {
    get queries() {
      return connection.queries;
    },
    durable: () => connection.durable(),
    get syncs() {
      return connection.syncs;
    },
    // Inside a hold whose transaction is held, every query runs in that transaction.
    get db() {
      return holds.open()?.trx ?? db;
    },
    engine,
    get secrets() {
      return box;
    },
    useSecrets(next) {
      box = next;
    },
    runHolding: (hold, fn) => holds.run(hold, fn),
    async transaction(fn) {
      const joined = holds.open();
      if (joined) return run(joined.trx, joined.written, fn);
      const hold = holds.toHold();
      for (let attempt = 1; ; attempt++) {
        const written: Written = { events: false, types: [] };
        try {
          if (hold) return await holds.hold(db, hold, written, (trx) => run(trx, written, fn), handle, () => afterCommit(written));
          const result = await db.transaction().execute((trx) => run(trx, written, fn));
          afterCommit(written);
          return result;
        } catch (err) {
          // The transaction wrote nothing (a deadlock victim, a stale prepared statement on
          // PostgreSQL): it runs again from the start.
          if (attempt < RETRY_ATTEMPTS && connection.retryable(err)) continue;
          throw err;
        }
      }
    },
    onEventsCommitted(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    migrate: () => connection.migrate(),
    pendingMigrations: () => connection.pendingMigrations(),
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    close: () => connection.close(),
  };
}
