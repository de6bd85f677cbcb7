/**
 * How deep free-form JSON may nest: a request's `metadata`, a merchant's configuration, and the
 * fields a dialect passes through (Pismo's `metadata`, Request Network's `customerInfo`). The
 * bound is checked before anything walks such a value recursively (`JSON.stringify` for the size
 * bound, the store, the webhook payloads), so a value nested thousands deep is a validation
 * error rather than a stack overflow. The rule is Payreq's own (docs/api.md, "Creating", `metadata`).
 */

/** The deepest free-form JSON accepted: the value itself is level 1, each object or array inside it one more. */
export const MAX_JSON_DEPTH = 32;

/**
 * The deepest request body accepted at all, on every route (objects and arrays; the body itself is
 * level 1): room for the deepest free-form field ({@link MAX_JSON_DEPTH}) inside any envelope a
 * route defines. It is checked before the routes' own hooks (idempotency's request fingerprint,
 * a dialect's handler) walk a body that no schema bounded, such as the body of a route that takes
 * none. The rule is Payreq's own (docs/api.md, "Creating").
 */
export const MAX_BODY_DEPTH = 64;

function isContainer(value: unknown): value is object {
  if (Array.isArray(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  // Plain objects only: a parser's number wrapper (lossless-json's LosslessNumber) is a scalar.
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Whether `value` nests more than `limit` levels of objects and arrays (a scalar is level 0,
 * `{}` and `[]` level 1). Walks with an explicit stack and stops at the first level past the
 * limit, so it never overflows and costs at most the value's size.
 */
export function nestsDeeperThan(value: unknown, limit: number = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [item, depth] = top;
    if (!isContainer(item)) continue;
    if (depth + 1 > limit) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) stack.push([child, depth + 1]);
  }
  return false;
}
