/**
 * Online backup and restore of a SQLite database file (`payreq backup`, `payreq restore`;
 * docs/deployment.md, "Backups and restore").
 *
 * A backup is taken with SQLite's online backup API (https://sqlite.org/backup.html, through
 * better-sqlite3's `db.backup`), all pages in one step: that step reads one snapshot of the
 * database (the write-ahead log included) under a read transaction, which in WAL mode never
 * blocks the server's writer. The copy is turned into a single self-contained file (rollback
 * journal mode, no `-wal`), checked, synced and renamed into place, so a backup file is either
 * complete or absent.
 *
 * A restore copies the backup the same way into a temporary file beside the target, checks it,
 * and only then replaces the target: after making sure no other connection has the target open
 * ({@link assertNotInUse}), its stale `-wal`, `-shm` and `-journal` files are removed (a `-wal`
 * left beside the restored file would be replayed into it) and the copy is renamed over it.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { migrations } from './migrations/index.js';
import { makePrivate } from './sqlite.js';

/** What a checked copy holds. */
export interface SqliteCopy {
  /** Its size in pages of {@link SqliteCopy.pageSize} bytes. */
  pages: number;
  pageSize: number;
  /** The migrations applied to it, in order (the last one names its schema version). */
  migrations: string[];
}

/** A refusal: the file is not a Payreq database this build can use, or the target is in use. */
export class SqliteBackupRefusal extends Error {
  override name = 'SqliteBackupRefusal';
}

/** The sidecar files SQLite keeps beside a database file. */
const SIDECARS = ['-wal', '-shm', '-journal'] as const;

/**
 * Checks that `file` is a Payreq database this build can run: SQLite's `PRAGMA
 * integrity_check` answers `ok`, Kysely's `kysely_migration` table is there, and every
 * migration it lists is one of this build's (src/db/migrations/); one this build does not know
 * means the database is newer than it.
 * @throws SqliteBackupRefusal saying which check failed.
 */
export function checkPayreqDatabase(file: string): SqliteCopy {
  let db: SQLite.Database;
  try {
    db = new SQLite(file, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new SqliteBackupRefusal(`${file} cannot be opened as a SQLite database: ${(err as Error).message}`);
  }
  try {
    let integrity: unknown[];
    try {
      integrity = db.pragma('integrity_check', { simple: false }) as unknown[];
    } catch (err) {
      throw new SqliteBackupRefusal(`${file} is not a SQLite database: ${(err as Error).message}`);
    }
    const problems = integrity.map((row) => Object.values(row as Record<string, unknown>)[0]).filter((v) => v !== 'ok');
    if (problems.length > 0) throw new SqliteBackupRefusal(`${file} fails SQLite's integrity check: ${problems.slice(0, 5).join('; ')}`);
    const table = db.prepare("select 1 from sqlite_master where type = 'table' and name = 'kysely_migration'").get();
    if (table === undefined) throw new SqliteBackupRefusal(`${file} is not a Payreq database (it has no kysely_migration table)`);
    const applied = (db.prepare('select name from kysely_migration order by name').all() as { name: string }[]).map((r) => r.name);
    const known = new Set(Object.keys(migrations('sqlite')));
    const unknown = applied.filter((name) => !known.has(name));
    if (unknown.length > 0) throw new SqliteBackupRefusal(`${file} is newer than this build of Payreq (migrations it does not know: ${unknown.join(', ')}); use the Payreq version that made it, or a newer one`);
    return { pages: db.pragma('page_count', { simple: true }) as number, pageSize: db.pragma('page_size', { simple: true }) as number, migrations: applied };
  } finally {
    db.close();
  }
}

/**
 * Copies the SQLite database at `source` into `target` with the online backup API, all pages in
 * one step (one consistent snapshot; a copy made in several steps would restart each time
 * another connection writes), then turns the copy into rollback journal mode so that it is one
 * file. `target` is created 0600.
 */
async function copyDatabase(source: SQLite.Database, target: string): Promise<void> {
  closeSync(openSync(target, 'w', 0o600));
  // better-sqlite3 runs a first step of 0 pages, then asks the progress callback for the size of
  // the next: every remaining page.
  await source.backup(target, { progress: () => 0x7fffffff });
  const copy = new SQLite(target);
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  const fd = openSync(target, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Syncs a directory, so that a rename in it survives a crash. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** A temporary file beside `file`, in the same directory (so a rename onto `file` is atomic). */
function temporaryBeside(file: string, purpose: string): string {
  return join(dirname(file), `.${basename(file)}.${purpose}-${process.pid}`);
}

/**
 * Takes a consistent online copy of the SQLite database at `source` into `destination` while
 * other processes (a running server) read and write it. Every transaction committed before the
 * call is in the copy; one committed while it runs may be or not. The copy is checked
 * ({@link checkPayreqDatabase}) before it appears at `destination`.
 * @param options.force - replace an existing `destination` (atomically); without it an
 *   existing one is a refusal.
 * @throws SqliteBackupRefusal when `source` does not exist, `destination` exists (without
 *   `force`), or the copy fails its check; Error from SQLite or the file system otherwise.
 */
export async function backupSqlite(source: string, destination: string, options: { force?: boolean } = {}): Promise<SqliteCopy> {
  if (!existsSync(source)) throw new SqliteBackupRefusal(`there is no database at ${source}`);
  if (existsSync(destination) && options.force !== true) throw new SqliteBackupRefusal(`${destination} exists: name another file, or pass --force to replace it`);
  mkdirSync(dirname(destination), { recursive: true, mode: 0o700 });
  const temporary = temporaryBeside(destination, 'backup');
  const db = new SQLite(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await copyDatabase(db, temporary);
    const copy = checkPayreqDatabase(temporary);
    renameSync(temporary, destination);
    syncDirectory(dirname(destination));
    return copy;
  } finally {
    db.close();
    rmSync(temporary, { force: true });
  }
}

/**
 * Throws unless no other connection, in this process or another, has the SQLite database at
 * `file` open. A running server in WAL mode holds no lock on the database file while idle, so
 * `BEGIN EXCLUSIVE` alone (which in WAL mode only waits for the writer) would pass beside it;
 * what every open WAL connection does hold is a shared lock on the `-shm` file, which a
 * connection in `locking_mode = EXCLUSIVE` must take exclusively before its first read
 * (https://sqlite.org/pragma.html#pragma_locking_mode, https://sqlite.org/wal.html#noshm). So:
 * `busy_timeout = 0`, `locking_mode = EXCLUSIVE`, `BEGIN EXCLUSIVE` and a read, which fails
 * with SQLITE_BUSY at once while any other connection is open, idle or not. The connection is
 * closed at once afterwards (a last connection checkpoints its log and removes the `-wal`).
 * @throws SqliteBackupRefusal when another connection has the database open.
 */
export function assertNotInUse(file: string): void {
  const db = new SQLite(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 0');
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.prepare('select count(*) from sqlite_master').get();
    db.exec('ROLLBACK');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'SQLITE_BUSY' || (err as { code?: unknown }).code === 'SQLITE_LOCKED') {
      throw new SqliteBackupRefusal(`${file} is in use (a Payreq server or another process has it open): stop it first; nothing was changed`);
    }
    throw err;
  } finally {
    db.close();
  }
}

/**
 * Puts the backup at `backup` in place of the SQLite database at `target` (which may not exist
 * yet). The backup is checked ({@link checkPayreqDatabase}) and copied beside the target first;
 * then, when the target exists, it must not be in use ({@link assertNotInUse}); its stale
 * `-wal`, `-shm` and `-journal` are removed and the copy renamed over it. The restored file is
 * 0600 and in rollback journal mode (a server switches it to WAL when it opens it).
 * @throws SqliteBackupRefusal when the backup fails its check or the target is in use (the
 *   target is then untouched); Error from SQLite or the file system otherwise.
 */
export async function restoreSqlite(backup: string, target: string): Promise<SqliteCopy> {
  if (!existsSync(backup)) throw new SqliteBackupRefusal(`there is no backup at ${backup}`);
  const checked = checkPayreqDatabase(backup);
  mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
  const temporary = temporaryBeside(target, 'restore');
  try {
    const source = new SQLite(backup, { readonly: true, fileMustExist: true });
    try {
      await copyDatabase(source, temporary);
    } finally {
      source.close();
    }
    checkPayreqDatabase(temporary);
    if (existsSync(target)) assertNotInUse(target);
    for (const suffix of SIDECARS) rmSync(`${target}${suffix}`, { force: true });
    renameSync(temporary, target);
    makePrivate(target);
    syncDirectory(dirname(target));
    return checked;
  } finally {
    rmSync(temporary, { force: true });
  }
}
