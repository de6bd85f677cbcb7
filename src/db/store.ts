/**
 * The store: one Kysely instance over SQLite (embedded default) or PostgreSQL, with the engine
 * it runs on, so repositories can branch where SQL differs (row locks, JSON access).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { chmodSync, closeSync, fdatasync, mkdirSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, sql, SqliteDialect, type SqliteDatabase, type SqliteStatement, type Transaction } from 'kysely';
import pg from 'pg';
import { type Engine, migrateToLatest } from './migrations.js';
import { preparedTexts } from './prepared.js';
import { type SecretBox, secretBox } from './secrets.js';
import type { Database } from './schema.js';

/** A handle on the database inside or outside a transaction, with its engine. */
export interface Tx {
  db: Kysely<Database> | Transaction<Database>;
  engine: Engine;
  /** Inside a transaction: set by writers of events, so the store can announce them after commit. */
  written?: { events: boolean; types: string[]; deliveries?: boolean };
  /**
   * Inside a transaction: runs `work` as the transaction's last statements, right before its
   * commit, in the order registered (the ledger's balance writes, so a hot account's row is
   * locked for as short a time as possible). Outside one, absent: the caller runs `work` at once.
   */
  beforeCommit?: (work: () => Promise<void>) => void;
  /** Seals and opens secrets at rest (src/db/secrets.ts); absent: {@link boxOf} gives one that opens plain text only. */
  secrets?: SecretBox;
}

const NO_KEY = secretBox(undefined);

/** `tx`'s secret box, or one without a key (it opens plain text and refuses to seal). */
export function boxOf(tx: Tx): SecretBox {
  return tx.secrets ?? NO_KEY;
}

/**
 * The open database. `transaction(fn)` runs `fn` in one database transaction and commits when
 * it resolves; on PostgreSQL a transaction aborted as a deadlock victim (40P01), or by a
 * prepared statement that a migration made stale (0A000), is run again, so `fn` must keep its
 * effects inside the transaction.
 */
export interface Store extends Tx {
  db: Kysely<Database>;
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs pending migrations (on PostgreSQL under an advisory lock); returns the names of those applied. */
  migrate(): Promise<string[]>;
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
   * scope's later transactions and queries run inside it, until {@link HeldTransaction.commit}
   * or {@link HeldTransaction.rollback} (idempotency keys store their answer in the effect's
   * transaction this way: src/http/idempotency.ts).
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

/**
 * A unit of work whose first transaction may be held open ({@link Store.runHolding}). The caller
 * sets `active` once it wants the hold (an `Idempotency-Key` was claimed); the store sets `held`
 * when a transaction is held.
 */
export interface CommitHold {
  active: boolean;
  held?: HeldTransaction | undefined;
}

/**
 * A transaction whose callback has resolved and which waits for its commit. A transaction held
 * longer than {@link HOLD_TIMEOUT_MS} is rolled back (a reply that never came).
 */
export interface HeldTransaction {
  /** The transaction, to write more in it before the commit. */
  readonly tx: Tx;
  /** `open` until decided; `rolled_back` also after the timeout or a failed commit. */
  readonly state: 'open' | 'committed' | 'rolled_back';
  /**
   * Commits (then announces the events it wrote, as any commit does).
   * @throws the database's error when the commit fails (the transaction is then rolled back) or
   *   Error when it was already rolled back (timeout).
   */
  commit(): Promise<void>;
  /** Rolls back; never throws. */
  rollback(): Promise<void>;
}

/** Longest time a transaction is held for its commit, in ms ({@link HeldTransaction}). */
export const HOLD_TIMEOUT_MS = 10_000;

/** Thrown inside a held transaction to roll it back. */
class HeldRollback extends Error {}

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
}

/**
 * Opens the database named by `url`.
 * @throws Error when the URL's scheme is not supported.
 */
export function openStore(options: StoreOptions): Store {
  const { url } = options;
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length), options.durable ?? false, options.secrets);
  if (/^postgres(ql)?:\/\//.test(url)) return openPostgres(url, options.poolSize ?? 10, options.secrets);
  throw new Error(`unsupported database URL "${url}": use sqlite:<path> or postgres://…`);
}

/**
 * Narrows `file`'s permissions to its owner's (keeps `mode & 0o700`) when group or others have
 * any; a missing file is left alone.
 * @throws Error from chmod, say when the server's user does not own the file.
 */
export function makePrivate(file: string): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if ((mode & 0o077) !== 0) chmodSync(file, mode & 0o700);
}

/**
 * Keeps a SQLite database's files private to the server's user: the directory, when made here,
 * 0700; the database file 0600, created so before SQLite opens it. SQLite's Unix VFS creates the
 * `-wal`, `-shm` and `-journal` files with the database file's permissions (`findCreateFileMode`
 * and `unixOpenSharedMemory` in https://sqlite.org/src/file/src/os_unix.c), so they follow.
 * Files an earlier run left readable by others are narrowed.
 */
function keepSqlitePrivate(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) makePrivate(file);
}

function openSqlite(path: string, durable: boolean, secrets: SecretBox | undefined): Store {
  if (path !== ':memory:') keepSqlitePrivate(path);
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const counter = { queries: 0 };
  const commits = durable && path !== ':memory:' ? groupCommit(`${path}-wal`) : undefined;
  const checkpoints = path === ':memory:' ? undefined : checkpointInBackground(database, path);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
    log: (event) => {
      counter.queries++;
      // A statement outside a transaction commits as it completes; a transaction counts at its commit too.
      if (commits && !/^\s*select\b/i.test(event.query.sql)) commits.committed();
    },
  });
  return makeStore(db, 'sqlite', () => migrateToLatest(db as Kysely<unknown>, 'sqlite'), counter, secrets, commits, checkpoints);
}

/** How often the background checkpointer copies the write-ahead log into the database, in ms. */
const CHECKPOINT_INTERVAL_MS = 100;

/**
 * The checkpointer's code: a CommonJS worker with a connection of its own on the same file,
 * running `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs` (a passive checkpoint never blocks
 * the writer, nor waits for it). Told `close`, it checkpoints once more and exits.
 */
const CHECKPOINTER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 1000');
const checkpoint = () => { try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ error: String(err) }); } };
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  checkpoint();
  db.close();
  parentPort.close();
});
`;

/**
 * Moves SQLite's checkpoints off the event loop. SQLite's default (`wal_autocheckpoint`, every
 * 1,000 pages) runs the checkpoint inside whichever commit crosses the mark: better-sqlite3 is
 * synchronous, so that commit's request, and every request behind it, waits while pages are
 * copied and the database file is synced; measured, that was about half of a create's commit
 * time (docs/performance.md). Here the writer's automatic checkpoints are off, and a worker
 * thread with its own connection checkpoints every {@link CHECKPOINT_INTERVAL_MS} ms instead.
 * Passive checkpoints run beside the writer under SQLite's WAL locking, so the log is still
 * copied back and reused as before; what an acknowledged write survives does not change. Should
 * the worker fail, the writer's own automatic checkpoints are switched back on.
 * @returns a function that stops the worker after a last checkpoint.
 */
function checkpointInBackground(database: SQLite.Database, path: string): () => Promise<void> {
  database.pragma('wal_autocheckpoint = 0');
  const fallBack = () => {
    if (database.open) database.pragma('wal_autocheckpoint = 1000');
  };
  const worker = new Worker(CHECKPOINTER_SOURCE, {
    eval: true,
    workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), path: resolve(path), intervalMs: CHECKPOINT_INTERVAL_MS },
  });
  worker.unref();
  let exited = false;
  const done = new Promise<void>((resolveDone) =>
    worker.once('exit', () => {
      exited = true;
      resolveDone();
    }),
  );
  worker.on('message', (message: { error?: string }) => {
    if (message.error !== undefined) fallBack();
  });
  worker.on('error', fallBack);
  worker.on('exit', fallBack);
  return async () => {
    // Referenced again while closing: an unreferenced worker would let the process exit before
    // its last checkpoint (slow while another process holds the file) ends, with `close()` unsettled.
    if (!exited) {
      worker.ref();
      worker.postMessage('close');
    }
    await done;
  };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * better-sqlite3 prepares a statement on every `prepare()`; Kysely calls it for every query.
 * The queries Payreq runs are few and repeat, so prepared statements are kept by SQL text
 * (least recently used out first). Statements are reusable: better-sqlite3 runs them
 * synchronously, so one is never in use twice at once.
 *
 * Kysely begins a transaction with `begin` (deferred); here it is `begin immediate`, which takes
 * the write lock at once, waiting for it under `busy_timeout`. A deferred transaction that has
 * read and then writes while another connection (another process on the file: `payreq orgs
 * add-key`, a second server) holds or has just released the lock fails at once with
 * SQLITE_BUSY or SQLITE_BUSY_SNAPSHOT, without waiting (https://sqlite.org/rescode.html#busy_snapshot,
 * https://sqlite.org/lang_transaction.html); this process has one connection, so its own
 * transactions were serialized anyway.
 */
function withStatementCache(database: SQLite.Database): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => void database.close(),
    prepare(query: string): SqliteStatement {
      const text = query === 'begin' ? 'begin immediate' : query;
      let statement = cache.get(text);
      if (statement) {
        cache.delete(text);
      } else {
        statement = database.prepare(text);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
      }
      cache.set(text, statement);
      return statement;
    },
  };
}

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
 * anew, and the store runs the transaction again ({@link Store.transaction}).
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

function isStalePlan(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '0A000';
}

/** A fixed 64-bit key for the migration advisory lock ("payreq" in ASCII, plus the schema's hash). */
function migrationLockKey(schema: string | undefined): bigint {
  let hash = 0x7061797265710000n;
  for (const ch of schema ?? '') hash = (hash * 31n + BigInt(ch.charCodeAt(0))) & 0x7fffffffffffffffn;
  return hash;
}

function openPostgres(url: string, poolSize: number, secrets: SecretBox | undefined): Store {
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
  const counter = { queries: 0 };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), log: () => void counter.queries++ });
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
  return makeStore(db, 'postgres', migrate, counter, secrets);
}

/** How long a PostgreSQL call waits for a connection before failing, in ms (a database outage answers 503 within it). */
export const CONNECT_TIMEOUT_MS = 3_000;

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

/** Group commit for SQLite's durable mode: see {@link groupCommit}. */
interface GroupCommit {
  /** Notes a commit (or a write that may be one). */
  committed(): void;
  /** Resolves once everything noted before the call is on disk. */
  durable(): Promise<void>;
  /** Syncs made so far. */
  readonly syncs: number;
  close(): void;
}

/**
 * Group commit over SQLite in WAL mode with `synchronous = NORMAL`: a commit appends its frames
 * to the write-ahead log without syncing it; `durable()` then waits for one `fdatasync` of the
 * log that started after the caller's commit, shared by every commit made meanwhile. Once that
 * sync returns, the log on disk holds the commit, which is what `synchronous = FULL` gives
 * (SQLite syncs the database file itself at each checkpoint, before the log is reused). The
 * sync runs on libuv's thread pool, so the process keeps serving, and the requests that commit
 * during one sync share the next.
 * @param walPath - the database's `-wal` file (opened at the first sync; it exists from the first write).
 */
function groupCommit(walPath: string): GroupCommit {
  let noted = 0;
  let synced = 0;
  let syncs = 0;
  let fd: number | undefined;
  let syncing: Promise<void> | undefined;
  const sync = async () => {
    const upTo = noted;
    fd ??= openSync(walPath, 'r+');
    await new Promise<void>((resolve, reject) => fdatasync(fd as number, (err) => (err ? reject(err) : resolve())));
    synced = Math.max(synced, upTo);
    syncs++;
  };
  return {
    get syncs() {
      return syncs;
    },
    committed: () => void noted++,
    close: () => {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
    async durable() {
      const target = noted;
      while (synced < target) {
        syncing ??= sync().finally(() => (syncing = undefined));
        await syncing;
      }
    },
  };
}

/** How often a transaction PostgreSQL aborted as a deadlock victim is run (the first run included). */
const DEADLOCK_ATTEMPTS = 5;

function isDeadlock(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '40P01';
}

function makeStore(db: Kysely<Database>, engine: Engine, migrate: () => Promise<string[]>, counter: { queries: number }, secrets: SecretBox | undefined, commits?: GroupCommit, stopCheckpoints?: () => Promise<void>): Store {
  const listeners = new Set<(types: readonly string[], written: { deliveries: boolean }) => void>();
  const holds = new AsyncLocalStorage<CommitHold>();
  let box = secrets;
  type Written = NonNullable<Tx['written']>;
  const afterCommit = (written: Written) => {
    commits?.committed();
    if (written.events) for (const listener of listeners) listener(written.types, { deliveries: written.deliveries === true });
  };
  const run = async <T>(trx: Transaction<Database>, written: Written, fn: (tx: Tx) => Promise<T>): Promise<T> => {
    const last: (() => Promise<void>)[] = [];
    const value = await fn({ db: trx, engine, written, beforeCommit: (work) => void last.push(work), ...(box ? { secrets: box } : {}) });
    for (const work of last) await work();
    return value;
  };
  // The first transaction of an active hold: resolves with fn's value once fn has run, and keeps
  // the transaction open until the hold's commit or rollback (or HOLD_TIMEOUT_MS).
  const runHeld = <T>(hold: CommitHold, written: Written, fn: (tx: Tx) => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      let decide: (commit: boolean) => void = () => undefined;
      const decision = new Promise<boolean>((r) => (decide = r));
      let state: HeldTransaction['state'] = 'open';
      let handedOver = false;
      const done = db.transaction().execute(async (trx) => {
        const value = await run(trx, written, fn);
        const timer = setTimeout(() => decide(false), HOLD_TIMEOUT_MS);
        const finished = done.then(
          () => {
            state = 'committed';
            afterCommit(written);
          },
          (err: unknown) => {
            state = 'rolled_back';
            if (!(err instanceof HeldRollback)) throw err;
          },
        );
        hold.held = {
          tx: { db: trx, engine, written, ...(box ? { secrets: box } : {}) },
          get state() {
            return state;
          },
          async commit() {
            if (state === 'rolled_back') throw new Error('the held transaction was rolled back (held too long)');
            decide(true);
            await finished;
          },
          async rollback() {
            decide(false);
            await finished.catch(() => undefined);
          },
        };
        handedOver = true;
        resolve(value);
        const commit = await decision;
        clearTimeout(timer);
        if (!commit) throw new HeldRollback();
        return value;
      });
      // Before fn resolved, a failure is the caller's (a deadlock victim runs again); after, the hold's.
      done.catch((err: Error) => {
        if (!handedOver) reject(err);
      });
    });
  return {
    get queries() {
      return counter.queries;
    },
    durable: () => commits?.durable() ?? Promise.resolve(),
    get syncs() {
      return commits?.syncs ?? 0;
    },
    // Inside a hold whose transaction is held, every query runs in that transaction.
    get db() {
      const held = holds.getStore()?.held;
      return held?.state === 'open' ? (held.tx.db as Kysely<Database>) : db;
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
      const hold = holds.getStore();
      const held = hold?.held;
      if (held?.state === 'open') return run(held.tx.db as Transaction<Database>, held.tx.written as Written, fn);
      for (let attempt = 1; ; attempt++) {
        const written: Written = { events: false, types: [] };
        try {
          if (hold?.active === true && held === undefined) return await runHeld(hold, written, fn);
          const result = await db.transaction().execute((trx) => run(trx, written, fn));
          afterCommit(written);
          return result;
        } catch (err) {
          // PostgreSQL broke a lock cycle by aborting this transaction (a safety net: transfers
          // lock accounts in one order), or a statement this connection prepared predates a
          // migration of its table: it wrote nothing, so it runs again from the start.
          if (attempt < DEADLOCK_ATTEMPTS && (isDeadlock(err) || isStalePlan(err))) continue;
          throw err;
        }
      }
    },
    onEventsCommitted(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    migrate,
    async ping() {
      try {
        await sql`select 1`.execute(db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await stopCheckpoints?.();
      await db.destroy();
      commits?.close();
    },
  };
}
