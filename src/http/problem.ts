/**
 * RFC 9457 problem details. One table maps every {@link ErrorCode} to its HTTP status; the
 * error handler renders `application/problem+json` with `type`, `title`, `status`, `detail`,
 * `code`, `requestId`, and for validation `errors: [{path, message}]`.
 */
import type { ErrorCode, FieldError } from '../domain/errors.js';

/** The HTTP status of each error code. */
export const STATUS_OF: Readonly<Record<ErrorCode, number>> = {
  validation_failed: 422,
  malformed_json: 400,
  payload_too_large: 413,
  headers_too_large: 431,
  unsupported_media_type: 415,
  unauthenticated: 401,
  forbidden: 403,
  test_mode_only: 403,
  live_mode_unavailable: 403,
  route_not_found: 404,
  payment_request_not_found: 404,
  party_not_found: 404,
  account_not_found: 404,
  webhook_endpoint_not_found: 404,
  api_key_not_found: 404,
  event_not_found: 404,
  merchant_config_not_found: 404,
  patron_code_not_found: 422,
  payer_not_found: 422,
  invalid_amount: 422,
  amount_too_large: 422,
  unknown_currency: 422,
  currency_mismatch: 422,
  invalid_expiry: 422,
  invalid_phone: 422,
  line_items_mismatch: 422,
  rate_unavailable: 422,
  external_id_conflict: 409,
  username_taken: 409,
  number_taken: 409,
  phone_taken: 409,
  invalid_transition: 409,
  idempotency_key_reused: 422,
  idempotency_key_in_use: 409,
  payment_reference_conflict: 409,
  refund_reference_conflict: 409,
  refund_exceeds_paid: 422,
  refund_window_closed: 409,
  insufficient_funds: 409,
  account_not_allowed: 422,
  account_closed: 409,
  account_not_empty: 409,
  invalid_grant: 422,
  invalid_cursor: 400,
  invalid_address: 422,
  account_exists: 409,
  last_key_manager: 409,
  chain_not_configured: 422,
  not_payable_on_chain: 409,
  chain_unavailable: 503,
  rate_limited: 429,
  too_many_streams: 429,
  bad_request: 400,
  uri_too_long: 414,
  request_timeout: 408,
  service_unavailable: 503,
  write_contention: 503,
  internal_error: 500,
};

/** The media type of every error response. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** An RFC 9457 problem document with Payreq's extension members. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  requestId: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

function title(code: ErrorCode): string {
  const words = code.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Builds the problem document for `code`. `type` is a relative URI into the errors reference
 * (`/docs/errors#<code>`), as RFC 9457 §3.1.1 allows.
 */
export function problem(code: ErrorCode, detail: string, requestId: string, extra: { errors?: FieldError[] | undefined; details?: Record<string, unknown> } = {}): Problem {
  const body: Problem = { ...(extra.details ?? {}), type: `/docs/errors#${code}`, title: title(code), status: STATUS_OF[code], detail, code, requestId };
  if (extra.errors !== undefined) body.errors = extra.errors;
  return body;
}
