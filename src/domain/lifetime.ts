/**
 * A payment request's lifetime: exactly one of `expiresIn` and `expiresAt`, within the
 * configured window (docs/api.md, "Creating"; AlphaPo's lifespan rules).
 */
import { fieldError } from './errors.js';

/** How long a request may live, in seconds (`PAYREQ_MIN_EXPIRY_SECONDS`, `PAYREQ_MAX_EXPIRY_SECONDS`). */
export interface LifetimeWindow {
  minExpirySeconds: number;
  maxExpirySeconds: number;
}

/**
 * The expiry time (epoch ms) a create asks for: `now + expiresIn` seconds, or `expiresAt`
 * parsed as a date-time. Errors name the field that was given.
 * @param input - exactly one of `expiresIn` (seconds) and `expiresAt` (RFC 3339).
 * @param now - epoch ms.
 * @throws DomainError `invalid_expiry` when both or neither are given, `expiresAt` does not
 *   parse, or the lifetime lies outside `window`.
 */
export function expiryOf(input: { expiresIn?: number | undefined; expiresAt?: string | undefined }, now: number, window: LifetimeWindow): number {
  const { minExpirySeconds: min, maxExpirySeconds: max } = window;
  let expiresAt: number;
  let path: string;
  if (input.expiresIn !== undefined && input.expiresAt !== undefined) {
    throw fieldError('expiresIn', 'give exactly one of expiresIn and expiresAt, not both', 'invalid_expiry');
  } else if (input.expiresIn !== undefined) {
    expiresAt = now + input.expiresIn * 1000;
    path = 'expiresIn';
  } else if (input.expiresAt !== undefined) {
    expiresAt = Date.parse(input.expiresAt);
    path = 'expiresAt';
    if (Number.isNaN(expiresAt)) throw fieldError(path, 'expiresAt must be an RFC 3339 date-time', 'invalid_expiry');
  } else {
    throw fieldError('expiresIn', 'give exactly one of expiresIn (seconds) and expiresAt (RFC 3339)', 'invalid_expiry');
  }
  const lifetime = (expiresAt - now) / 1000;
  if (lifetime < min) throw fieldError(path, `the lifetime must be at least ${min} seconds`, 'invalid_expiry');
  if (lifetime > max) throw fieldError(path, `the lifetime must be at most ${max} seconds`, 'invalid_expiry');
  return expiresAt;
}
