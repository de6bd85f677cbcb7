/**
 * The SQLite engine (the embedded default): better-sqlite3 in WAL mode, its statements kept
 * prepared, transactions begun `immediate`, checkpoints in a worker thread, and in durable mode
 * group commit over the write-ahead log.
 */
import { chmodSync, closeSync, fdatasync, mkdirSync, openSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type SqliteDatabase, type SqliteStatement } from 'kysely';
import type { EngineConnection } from './engine.js';
import { migrateToLatest, pendingMigrations } from './migrate.js';
import { type LockingCommand, lockSqliteFile } from './sqlite-lock.js';
import type { Database } from './schema.js';

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
  for (const file of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`, `${path}.lock`]) makePrivate(file);
}

/**
 * Opens the SQLite database at `path` (`:memory:` for one in memory): WAL mode with
 * `synchronous = NORMAL`, foreign keys on, a 5 s busy timeout, statements kept prepared,
 * transactions begun `immediate`, checkpoints in a worker thread; and with `durable`, group
 * commit ({@link groupCommit}). Files are kept private to the server's user.
 * @param lock - the command taking the file for itself (src/db/sqlite-lock.ts), before anything
 *   else is done on it, until `close()`; absent: no lock (the CLI's short writes beside a server).
 * @throws DatabaseRefusal when `lock` is given and another process holds the file.
 * @throws Error from better-sqlite3 when the file cannot be opened, or from chmod
 *   ({@link makePrivate}).
 */
export function openSqlite(path: string, durable: boolean, lock?: LockingCommand): EngineConnection {
  if (path !== ':memory:') keepSqlitePrivate(path);
  const held = lock === undefined || path === ':memory:' ? undefined : lockSqliteFile(path, lock);
  let database: SQLite.Database;
  try {
    database = new SQLite(path);
  } catch (err) {
    held?.release();
    throw err;
  }
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  let queries = 0;
  const commits = durable && path !== ':memory:' ? groupCommit(`${path}-wal`) : undefined;
  const stopCheckpoints = path === ':memory:' ? undefined : checkpointInBackground(database, path);
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: withStatementCache(database) }),
    log: (event) => {
      queries++;
      // A statement outside a transaction commits as it completes; a transaction counts at its commit too.
      if (commits && !/^\s*select\b/i.test(event.query.sql)) commits.committed();
    },
  });
  return {
    db,
    engine: 'sqlite',
    migrate: () => migrateToLatest(db as Kysely<unknown>, 'sqlite'),
    pendingMigrations: () => pendingMigrations(db as Kysely<unknown>, 'sqlite'),
    get queries() {
      return queries;
    },
    committed: () => commits?.committed(),
    durable: () => commits?.durable() ?? Promise.resolve(),
    get syncs() {
      return commits?.syncs ?? 0;
    },
    // SQLite runs one writer at a time (`begin immediate`): no deadlock to break, nothing to run again.
    retryable: () => false,
    async close() {
      await stopCheckpoints?.();
      await db.destroy();
      commits?.close();
      held?.release();
    },
  };
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
