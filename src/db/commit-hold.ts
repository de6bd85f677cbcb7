/**
 * The commit hold: a scope (Node's AsyncLocalStorage) in which the first transaction is held open
 * after its callback resolves, instead of committed, so that the caller can write one more thing
 * into it and commit both together, or roll both back.
 *
 * Exactly two entry points open a hold, and only the code they run joins it:
 * - the `/v1` hooks of src/http/idempotency.ts: `commitHoldHook` opens a hold for every `/v1`
 *   request (registered in src/http/app.ts) and `idempotencyPreHandler` activates it once the
 *   request's `Idempotency-Key` is claimed; `idempotencyOnSend` writes the stored answer into the
 *   held transaction and commits (a 5xx rolls back). The request's effect and its stored answer
 *   so commit together.
 * - AlphaPo's create (`createOnce` in src/dialects/alphapo/routes.ts), when it has no
 *   `foreign_id` and carries `X-Processing-Signature`: the created request and the record of its
 *   signature (src/db/alphapo-signature.repository.ts) commit together, or neither.
 *
 * What joining means, while the hold is active and the scope's held transaction is open:
 * - the first transaction that resolves in the scope (`Store.transaction`, src/db/store.ts) is
 *   held: its callback's value is returned to its caller, its events are announced only once the
 *   hold commits, and it is rolled back when the hold rolls back or after {@link HOLD_TIMEOUT_MS};
 * - every later `Store.transaction` in the scope runs its callback inside the held transaction
 *   (no commit of its own, no retry), and every statement sent through the store's `db`
 *   (a {@link Db} outside a transaction) runs in it too, so the scope reads its own writes.
 * Outside these two entry points nothing joins a hold: a transaction commits when its callback resolves.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { Db, Written } from './tx.js';

/**
 * A unit of work whose first transaction may be held open ({@link CommitHolds.run}). The caller
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
  /**
   * A handle whose statements run in the held transaction, to write one more thing before the
   * commit. A {@link Db}, not a `Tx`: the transaction's callback has returned and its last
   * statements have run; work that needs a transaction joins it through `Store.transaction` in
   * the hold's scope.
   */
  readonly tx: Db;
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

/** The held transaction's own state, for the store's transactions and queries that join it. */
interface Joinable {
  trx: Transaction<Database>;
  written: Written;
}

/**
 * The commit holds of one store (src/db/store.ts): the scope each runs in, and the machinery that
 * holds the first transaction of an active hold. The store asks it, for each transaction and each
 * query, whether the current scope has an open held transaction to join.
 */
export class CommitHolds {
  private readonly scopes = new AsyncLocalStorage<CommitHold>();
  private readonly joinable = new WeakMap<HeldTransaction, Joinable>();

  /** Runs `fn` (and everything it starts) in `hold`'s scope. */
  run<T>(hold: CommitHold, fn: () => T): T {
    return this.scopes.run(hold, fn);
  }

  /** The current scope's held transaction while it is open (to run in it), else undefined. */
  open(): Joinable | undefined {
    const held = this.scopes.getStore()?.held;
    return held?.state === 'open' ? this.joinable.get(held) : undefined;
  }

  /**
   * The current scope's hold when the next transaction is to be held (the hold is active and
   * holds nothing yet), else undefined.
   */
  toHold(): CommitHold | undefined {
    const hold = this.scopes.getStore();
    return hold?.active === true && hold.held === undefined ? hold : undefined;
  }

  /**
   * Runs `body` in a new transaction on `db` and holds it: resolves with `body`'s value once it
   * has run, sets `hold.held`, and keeps the transaction open until the hold's commit or rollback
   * (or {@link HOLD_TIMEOUT_MS}). `handle` makes the {@link HeldTransaction.tx} of the transaction;
   * `committed` runs after its commit.
   * @throws (rejects with) `body`'s error or the database's, before `body` resolved (the caller may run it again).
   */
  hold<T>(db: Kysely<Database>, hold: CommitHold, written: Written, body: (trx: Transaction<Database>) => Promise<T>, handle: (trx: Transaction<Database>) => Db, committed: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let decide: (commit: boolean) => void = () => undefined;
      const decision = new Promise<boolean>((r) => (decide = r));
      let state: HeldTransaction['state'] = 'open';
      let handedOver = false;
      const done = db.transaction().execute(async (trx) => {
        const value = await body(trx);
        const timer = setTimeout(() => decide(false), HOLD_TIMEOUT_MS);
        const finished = done.then(
          () => {
            state = 'committed';
            committed();
          },
          (err: unknown) => {
            state = 'rolled_back';
            if (!(err instanceof HeldRollback)) throw err;
          },
        );
        const held: HeldTransaction = {
          tx: handle(trx),
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
        this.joinable.set(held, { trx, written });
        hold.held = held;
        handedOver = true;
        resolve(value);
        const commit = await decision;
        clearTimeout(timer);
        if (!commit) throw new HeldRollback();
        return value;
      });
      // Before body resolved, a failure is the caller's (a deadlock victim runs again); after, the hold's.
      done.catch((err: Error) => {
        if (!handedOver) reject(err);
      });
    });
  }
}
