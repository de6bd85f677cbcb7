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
