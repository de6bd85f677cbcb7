/**
 * The store: one Kysely instance over SQLite (embedded default, src/db/sqlite.ts) or PostgreSQL
 * (src/db/postgres.ts), with the engine it runs on, so repositories can branch where SQL differs
 * (row locks, JSON access); and the transaction machinery common to both engines (retries, the
 * commit hold, events announced after commit).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { type Kysely, sql, type Transaction } from 'kysely';
import type { Engine, EngineConnection } from './engine.js';
import { openPostgres } from './postgres.js';
import type { Database } from './schema.js';
import { type SecretBox, secretBox } from './secrets.js';
import { openSqlite } from './sqlite.js';

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
  if (url.startsWith('sqlite:')) return makeStore(openSqlite(url.slice('sqlite:'.length), options.durable ?? false), options.secrets);
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
  const holds = new AsyncLocalStorage<CommitHold>();
  let box = secrets;
  type Written = NonNullable<Tx['written']>;
  const afterCommit = (written: Written) => {
    connection.committed();
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
      return connection.queries;
    },
    durable: () => connection.durable(),
    get syncs() {
      return connection.syncs;
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
