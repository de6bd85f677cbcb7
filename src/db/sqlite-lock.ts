/**
 * One Payreq process per SQLite file: a lock on a side file `<db>.lock` that `payreq serve` (and
 * `payreq migrate`) hold for as long as they run.
 *
 * A Payreq server keeps state in its process (group commit, the in-process event feed that wakes
 * the webhook dispatcher and live streams, caches), so a second server on the same SQLite file
 * would miss the first one's wake-ups and race its workers. Several processes need PostgreSQL.
 *
 * The mechanism: `<db>.lock` is a small SQLite database of its own, and the holder keeps a
 * write transaction open on it (`BEGIN IMMEDIATE`, SQLite's RESERVED lock) until it stops.
 * SQLite's Unix VFS takes that lock with a POSIX advisory lock (`fcntl(F_SETLK)`) on the file
 * (https://sqlite.org/lockingv3.html, https://sqlite.org/src/file/src/os_unix.c), and the kernel
 * drops a process's POSIX locks when the process ends, however it ends (SIGKILL, a crash, an
 * out-of-memory kill): no stale lock to clean up, no pid or timestamp to judge. Lock files kept
 * by `mkdir` or by a pid written to a file (npm's `proper-lockfile` and the like) outlive a
 * SIGKILL and must be judged stale by age or by probing the pid, which a recycled pid fools.
 * Within one process SQLite tracks the locks per file itself, so a second connection of the
 * same process is refused too.
 *
 * The holder's pid, command, host and start time sit in a committed row of the lock database, so
 * that a refused process can say who holds the file. Readers are not blocked by a RESERVED lock.
 *
 * Limits: POSIX locks are only as good as the file system's (a local disk is; some network file
 * systems are not, and SQLite itself warns against them). Deleting `<db>.lock` while a server runs
 * lets a second one start: the file is left in place on purpose and is harmless when no one runs.
 */
import { closeSync, openSync } from 'node:fs';
import { hostname } from 'node:os';
import SQLite from 'better-sqlite3';
import { DatabaseRefusal } from './errors.js';

/** The commands that take the lock; each refusal names its own fix. */
export type LockingCommand = 'serve' | 'migrate';

/** A held lock on a SQLite file (see the file's comment). */
export interface SqliteLock {
  /** The lock file, `<db>.lock`. */
  readonly path: string;
  /** Releases the lock (idempotent). The lock is also released when the process ends, however it ends. */
  release(): void;
}

/** Who holds a SQLite file's lock, as the holder recorded it. */
export interface LockHolder {
  pid: number;
  command: string;
  host: string;
  /** Epoch ms. */
  since: number;
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

/** The holder recorded in an open lock database, or undefined when none can be read. */
function readHolder(lock: SQLite.Database): LockHolder | undefined {
  try {
    return lock.prepare('select pid, command, host, since from holder where id = 1').get() as LockHolder | undefined;
  } catch {
    return undefined;
  }
}

/** The refusal for `dbPath` held by `holder`, with the fix for `command`. */
function refusal(dbPath: string, command: LockingCommand, holder: LockHolder | undefined): DatabaseRefusal {
  const who = holder === undefined ? 'another Payreq process' : `another Payreq process (payreq ${holder.command}, pid ${holder.pid} on ${holder.host}, since ${new Date(holder.since).toISOString()})`;
  const fix =
    command === 'serve'
      ? 'Run one server per SQLite file: stop the other one, or point PAYREQ_DATABASE_URL at another file. To run several processes on one database, use PostgreSQL (README, "PostgreSQL").'
      : 'Stop the server first: a migration changes the schema under it. `payreq serve` migrates the database itself when it starts; `payreq migrate --dry-run` lists what is pending without taking the lock (docs/deployment.md, "Upgrading").';
  return new DatabaseRefusal(`the SQLite database ${dbPath} is in use by ${who}. SQLite is one process's database in Payreq. ${fix}`);
}

/**
 * Takes the lock of the SQLite file `dbPath` for `command`, without waiting: see the file's
 * comment for the mechanism. The lock file `<dbPath>.lock` is created readable by the owner only.
 * @throws DatabaseRefusal naming the file, the holder (pid, command, host, since) when it could be
 *   read, and the fix, when another process (or another connection of this one) holds it.
 * @throws Error from better-sqlite3 when the lock file cannot be created or opened.
 */
export function lockSqliteFile(dbPath: string, command: LockingCommand): SqliteLock {
  const path = `${dbPath}.lock`;
  closeSync(openSync(path, 'a', 0o600));
  // No busy timeout: a lock held is an answer, not something to wait for.
  const lock = new SQLite(path, { timeout: 0 });
  const refuse = (): never => {
    const holder = readHolder(lock);
    lock.close();
    throw refusal(dbPath, command, holder);
  };
  const begin = () => {
    try {
      lock.exec('begin immediate');
    } catch (err) {
      if (isBusy(err)) refuse();
      lock.close();
      throw err;
    }
  };
  begin();
  try {
    lock.exec('create table if not exists holder (id integer primary key check (id = 1), pid integer not null, command text not null, host text not null, since integer not null)');
    lock.prepare('insert or replace into holder (id, pid, command, host, since) values (1, ?, ?, ?, ?)').run(process.pid, command, hostname(), Date.now());
    // Committed, so that a refused process can read who holds the file...
    lock.exec('commit');
  } catch (err) {
    lock.close();
    throw err;
  }
  // ...then held again. Another process that took the lock in between holds it now: refused.
  begin();
  let released = false;
  return {
    path,
    release() {
      if (released) return;
      released = true;
      // Closing rolls the open (empty) transaction back and drops the lock.
      lock.close();
    },
  };
}
