/**
 * The store: one Kysely instance over SQLite (embedded default) or PostgreSQL, with the engine
 * it runs on, so repositories can branch where SQL differs (row locks, JSON access).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, SqliteDialect, type Transaction } from 'kysely';
import { type Engine, migrateToLatest } from './migrations.js';
import type { Database } from './schema.js';

/** A handle on the database inside or outside a transaction, with its engine. */
export interface Tx {
  db: Kysely<Database> | Transaction<Database>;
  engine: Engine;
}

/** The open database. `transaction(fn)` runs `fn` in one database transaction and commits when it resolves. */
export interface Store extends Tx {
  db: Kysely<Database>;
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs pending migrations; returns the names of those applied. */
  migrate(): Promise<string[]>;
  /** True when a trivial query answers. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Options for {@link openStore}. */
export interface StoreOptions {
  /** `sqlite:<path>` (`sqlite::memory:` for an in-memory database). */
  url: string;
}

/**
 * Opens the database named by `url`.
 * @throws Error when the URL's scheme is not supported.
 */
export function openStore(options: StoreOptions): Store {
  const { url } = options;
  if (url.startsWith('sqlite:')) return openSqlite(url.slice('sqlite:'.length));
  throw new Error(`unsupported database URL "${url}": use sqlite:<path>`);
}

function openSqlite(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const database = new SQLite(path);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return makeStore(db, 'sqlite');
}

function makeStore(db: Kysely<Database>, engine: Engine): Store {
  return {
    db,
    engine,
    transaction: (fn) => db.transaction().execute((trx) => fn({ db: trx, engine })),
    migrate: () => migrateToLatest(db as Kysely<unknown>, engine),
    async ping() {
      try {
        await db.selectFrom('orgs').select('id').limit(1).execute();
        return true;
      } catch {
        return false;
      }
    },
    close: () => db.destroy(),
  };
}
