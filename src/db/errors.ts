/** Recognizing database errors across engines. */

/**
 * True when `err` is a unique-constraint violation: SQLite's `SQLITE_CONSTRAINT_UNIQUE` /
 * `SQLITE_CONSTRAINT_PRIMARYKEY`, PostgreSQL's SQLSTATE `23505`.
 * @param index - when given, also require the violated index or constraint to be named in the message.
 */
export function isUniqueViolation(err: unknown, index?: string): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, message, constraint } = err as { code?: unknown; message?: unknown; constraint?: unknown };
  const unique = code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
  if (!unique || index === undefined) return unique;
  return (typeof message === 'string' && message.includes(index)) || constraint === index;
}

/**
 * True when `err` is PostgreSQL's numeric overflow (SQLSTATE `22003`, "numeric field overflow"):
 * a value past an amount column's `NUMERIC(78,0)`. The ledger's bounds (domain/money.ts) keep
 * every write below it; this is the backstop the HTTP layer answers 422 `amount_too_large`.
 */
export function isNumericOverflow(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '22003';
}

/**
 * A database the process refuses to use, with a message that says why and what to do: a SQLite
 * file another Payreq process holds (src/db/sqlite-lock.ts), a database migrated by a newer
 * Payreq (src/db/migrate.ts). The CLI prints its message alone (no stack) and exits 1.
 */
export class DatabaseRefusal extends Error {
  override name = 'DatabaseRefusal';
}
