/**
 * The two handles repositories and use cases take: {@link Db}, which reads and makes one-statement
 * writes wherever it is (the store itself, or a transaction), and {@link Tx}, a transaction, which
 * adds what only a transaction has. As Kysely's `Transaction extends Kysely`
 * (https://kysely-org.github.io/kysely-apidoc/classes/Transaction.html), a `Tx` is a `Db`, never
 * the other way round: a function that needs several statements to commit together, or writes
 * events, or moves ledger balances, takes a `Tx`, and the compiler refuses the store there.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Engine } from './engine.js';
import type { Database } from './schema.js';
import { type SecretBox, secretBox } from './secrets.js';

/**
 * A handle that may read and make single-statement writes, inside a transaction or outside one
 * (then each statement commits on its own). The store (src/db/store.ts) and every {@link Tx} are one.
 */
export interface Db {
  /** The Kysely instance statements run on: the database, or a transaction on it. */
  readonly db: Kysely<Database>;
  /** The engine, for repositories whose SQL differs (row locks, JSON access). */
  readonly engine: Engine;
  /** Seals and opens secrets at rest (src/db/secrets.ts); absent: {@link boxOf} gives one that opens plain text only. */
  readonly secrets?: SecretBox | undefined;
}

/**
 * What a transaction notes for the store as it runs: whether it wrote events (and their types)
 * and webhook deliveries, so that the store announces them once the transaction has committed
 * (`Store.onEventsCommitted`, src/db/store.ts).
 */
export interface Written {
  events: boolean;
  types: string[];
  deliveries?: boolean;
}

/**
 * A handle inside one database transaction (`Store.transaction`, src/db/store.ts): its
 * statements commit together or not at all. What only a transaction has is required here, so a
 * function that needs it cannot be handed the store:
 * - `written`: writers of events and webhook deliveries note them here; the store announces them
 *   after the commit (announced before, a listener could read what is not committed yet, or what
 *   a rollback then undoes);
 * - `beforeCommit`: work that must be the transaction's last statements (the ledger's balance
 *   writes, src/rails/ledger.ts), so a hot account's row stays locked for as short a time as possible;
 * - `secrets`: always a box (one that opens plain text only when the server has no master key).
 */
export interface Tx extends Db {
  /** The transaction statements run in. */
  readonly db: Transaction<Database>;
  /** Set by writers of events and deliveries, so the store can announce them after commit. */
  readonly written: Written;
  /**
   * Runs `work` once the transaction's callback has resolved, before the commit, in the order
   * registered (the ledger's balance writes, then what must follow them). In a transaction held
   * or joined by a commit hold (src/db/commit-hold.ts) it runs when that callback resolves too;
   * the hold's owner may then write one statement more before the commit.
   */
  readonly beforeCommit: (work: () => Promise<void>) => void;
  /** Seals and opens secrets at rest (src/db/secrets.ts). */
  readonly secrets: SecretBox;
}

/** A box without a key: it opens plain text and refuses to seal (src/db/secrets.ts). */
export const NO_KEY: SecretBox = secretBox(undefined);

/** `db`'s secret box, or one without a key (it opens plain text and refuses to seal). */
export function boxOf(db: Db): SecretBox {
  return db.secrets ?? NO_KEY;
}
