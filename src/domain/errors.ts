/**
 * The one error type the domain and the use cases throw.
 *
 * Every failure a caller can act on has a stable snake_case `code` from {@link ErrorCode}.
 * The HTTP edge maps each code to a status through one table (`src/http/problem.ts`) and
 * renders an RFC 9457 problem document; `docs/errors.md` lists every code, and a test checks
 * that list against {@link ERROR_CODES} (docs/design.md#errors).
 */

/** Every error code Payreq answers with, in one place. */
export const ERROR_CODES = [
  'validation_failed',
  'malformed_json',
  'payload_too_large',
  'headers_too_large',
  'unsupported_media_type',
  'unauthenticated',
  'forbidden',
  'test_mode_only',
  'live_mode_unavailable',
  'route_not_found',
  'payment_request_not_found',
  'party_not_found',
  'account_not_found',
  'webhook_endpoint_not_found',
  'api_key_not_found',
  'event_not_found',
  'merchant_config_not_found',
  'patron_code_not_found',
  'payer_not_found',
  'invalid_amount',
  'amount_too_large',
  'unknown_currency',
  'currency_mismatch',
  'invalid_expiry',
  'invalid_phone',
  'line_items_mismatch',
  'rate_unavailable',
  'external_id_conflict',
  'username_taken',
  'number_taken',
  'phone_taken',
  'invalid_transition',
  'idempotency_key_reused',
  'idempotency_key_in_use',
  'payment_reference_conflict',
  'refund_reference_conflict',
  'refund_exceeds_paid',
  'refund_window_closed',
  'insufficient_funds',
  'account_not_allowed',
  'account_closed',
  'account_not_empty',
  'invalid_grant',
  'last_key_manager',
  'invalid_cursor',
  'invalid_address',
  'account_exists',
  'chain_not_configured',
  'not_payable_on_chain',
  'chain_unavailable',
  'rate_limited',
  'too_many_streams',
  'bad_request',
  'uri_too_long',
  'request_timeout',
  'service_unavailable',
  'write_contention',
  'internal_error',
] as const;

/** A stable, documented error code (see `docs/errors.md`). */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** One field-level problem: `path` is a dotted JSON path into the request (`lineItems.0.price`). */
export interface FieldError {
  path: string;
  message: string;
}

/**
 * A failure with a documented code. `details` carries extra machine-readable members that
 * the problem document includes verbatim (for example `{ status: 'paid' }` on
 * `invalid_transition`); `errors` lists field-level problems for validation failures.
 */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly errors: FieldError[] | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { details?: Record<string, unknown>; errors?: FieldError[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.details = options.details ?? {};
    this.errors = options.errors;
  }
}

/** True when `err` is a {@link DomainError}, optionally with the given code. */
export function isDomainError(err: unknown, code?: ErrorCode): err is DomainError {
  return err instanceof DomainError && (code === undefined || err.code === code);
}

/**
 * Builds a `validation_failed` error for one field. `path` is the dotted JSON path of the
 * field, `message` says what is wrong with it in a sentence a developer can act on.
 */
export function fieldError(path: string, message: string, code: ErrorCode = 'validation_failed'): DomainError {
  return new DomainError(code, message, { errors: [{ path, message }] });
}
