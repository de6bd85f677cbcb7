/**
 * What the two database engines have in common: the {@link Engine} name that repositories branch
 * on where SQL differs, and the {@link EngineConnection} each engine's opener (src/db/sqlite.ts,
 * src/db/postgres.ts) hands to the transaction machinery (src/db/store.ts).
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** The database engines Payreq runs on. */
export type Engine = 'sqlite' | 'postgres';

/**
 * An open database as an engine sets it up: the Kysely instance and what only the engine knows
 * (how it migrates, syncs, retries and closes). src/db/store.ts builds the {@link Engine}-neutral
 * store on it.
 */
export interface EngineConnection {
  db: Kysely<Database>;
  engine: Engine;
  /** Runs pending migrations; returns the names of those applied. */
  migrate(): Promise<string[]>;
  /**
   * The migrations {@link EngineConnection.migrate} would run, without running them or taking any lock.
   * @throws DatabaseRefusal (src/db/errors.ts) when the database is newer than this build.
   */
  pendingMigrations(): Promise<string[]>;
  /** Statements sent to the database so far. */
  readonly queries: number;
  /** Notes a committed transaction (SQLite's group commit counts it for {@link EngineConnection.durable}). */
  committed(): void;
  /** Resolves once every write committed before the call is on disk. */
  durable(): Promise<void>;
  /** Syncs of the write-ahead log made by {@link EngineConnection.durable} so far. */
  readonly syncs: number;
  /**
   * True when a transaction that failed with `err` wrote nothing and may simply be run again
   * (on PostgreSQL: a deadlock victim, or a statement prepared before a migration).
   */
  retryable(err: unknown): boolean;
  /** Stops the engine's background work and closes the database. */
  close(): Promise<void>;
}
