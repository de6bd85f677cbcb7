/**
 * The one error handler: every error leaves as an RFC 9457 problem document. Domain errors map
 * through `STATUS_OF`; schema validation becomes `validation_failed` with `errors[]`; every
 * refusal Fastify makes before a handler runs (an error carrying a 4xx `statusCode`) keeps its
 * status, with the code that status names (`malformed_json` for a body that is not JSON,
 * `payload_too_large`, `unsupported_media_type`, `uri_too_long`… else `bad_request`); anything
 * else is a bug: logged with its cause and answered as a generic 500 with the request id.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DomainError, type ErrorCode, type FieldError, isDomainError } from '../domain/errors.js';
import { isNumericOverflow } from '../db/errors.js';
import { isDatabaseUnavailable } from '../db/store.js';
import { problem, PROBLEM_CONTENT_TYPE, STATUS_OF } from './problem.js';

/**
 * One schema-validation problem of a request, as every error renderer (this one and the
 * dialects') reads it: `context` is `body`, `querystring`, `params`…; `path` the segments into
 * it (empty for the part itself); `unknownKeys` the fields a strict object refused, if that is
 * the problem.
 */
export interface SchemaIssue {
  context: string | undefined;
  path: string[];
  message: string;
  unknownKeys: string[] | undefined;
}

/** The schema-validation problems of a Fastify + zod validation error, or undefined for any other error. */
export function schemaIssues(err: unknown): SchemaIssue[] | undefined {
  if (!hasZodFastifySchemaValidationErrors(err)) return undefined;
  const { validation, validationContext } = err as unknown as { validation: { instancePath: string; message?: string; params: unknown }[]; validationContext?: string };
  return validation.map((v) => ({
    context: validationContext,
    path: v.instancePath.replace(/^\//, '').split('/').filter((p) => p.length > 0),
    message: v.message ?? 'invalid',
    unknownKeys: (v.params as { keys?: string[] }).keys,
  }));
}

function validationErrors(issues: SchemaIssue[]): FieldError[] {
  return issues.flatMap((issue) => {
    const prefix = issue.context === 'body' || issue.context === undefined ? '' : `${issue.context}.`;
    const base = issue.path.join('.');
    if (issue.unknownKeys && issue.unknownKeys.length > 0) {
      return issue.unknownKeys.map((k) => ({ path: `${prefix}${base ? `${base}.` : ''}${k}`, message: 'unknown field' }));
    }
    return [{ path: `${prefix}${base}` || prefix.replace(/\.$/, '') || '(root)', message: issue.message }];
  });
}

/**
 * The error code of each 4xx status Fastify (or a plugin) raises before a handler runs; a status
 * not here answers `bad_request` with its own status. A 400 about the body's JSON is
 * `malformed_json` instead ({@link isJsonError}).
 */
const CODE_OF_STATUS: Readonly<Record<number, ErrorCode>> = {
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'route_not_found',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  431: 'headers_too_large',
};

const JSON_ERRORS = new Set(['FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY', 'FST_ERR_CTP_INVALID_CONTENT_LENGTH']);

/**
 * True when `err` is Fastify's refusal of a body it could not read as JSON: not JSON, empty, or
 * not the length its `Content-Length` announced (JSON.parse's SyntaxError included).
 */
export function isJsonError(err: unknown): boolean {
  if (err instanceof SyntaxError) return true;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && JSON_ERRORS.has(code);
}

/**
 * `err`, or a `service_unavailable` DomainError in its place when it says the database cannot be
 * reached ({@link isDatabaseUnavailable}), or `amount_too_large` when PostgreSQL found a number
 * past its column ({@link isNumericOverflow}): every scope's error handler calls this first, so
 * an outage answers 503 and an overflow 422 in the route's own format rather than 500.
 */
export function normalizeError(err: unknown): unknown {
  if (isDatabaseUnavailable(err)) return new DomainError('service_unavailable', 'the database is not reachable; retry shortly');
  // A value past an amount column (PostgreSQL's NUMERIC(78,0)) is too large an input, never a 500.
  if (isNumericOverflow(err)) return new DomainError('amount_too_large', 'an amount is larger than Payreq stores', { cause: err });
  return err;
}

/**
 * The status of a refusal Fastify makes before a handler runs (a body that is not JSON, too
 * large, of another media type, with a bad content length), or undefined for any other error.
 * Dialects answer these in their own format with this status.
 */
export function clientErrorStatus(err: unknown): number | undefined {
  if (err instanceof SyntaxError) return 400;
  const status = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/**
 * The seconds a client should wait before retrying, for an error that says so
 * (`details.retryAfterSeconds`, e.g. `write_contention`), or undefined. Sent as `Retry-After`
 * (RFC 9110 §10.2.3) on every route, the dialects' included (app.ts's `onError` hook).
 */
export function retryAfterOf(err: unknown): number | undefined {
  const seconds = isDomainError(err) ? err.details['retryAfterSeconds'] : undefined;
  return typeof seconds === 'number' && seconds > 0 ? Math.ceil(seconds) : undefined;
}

/** Sends `err` as a problem document. */
export async function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const err = normalizeError(error);
  let body;
  const issues = schemaIssues(err);
  if (isDomainError(err)) {
    body = problem(err.code, err.message, request.id, { errors: err.errors, details: err.details });
  } else if (issues !== undefined) {
    const errors = validationErrors(issues);
    body = problem('validation_failed', `the request is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, request.id, { errors });
  } else if (clientErrorStatus(err) !== undefined) {
    // Refused by Fastify before a handler ran; the mechanism, not a list: any 4xx it carries.
    const status = clientErrorStatus(err) as number;
    if (status === 400 && isJsonError(err)) body = problem('malformed_json', 'the body is not valid JSON', request.id);
    else {
      body = problem(CODE_OF_STATUS[status] ?? 'bad_request', (err as Error).message, request.id);
      body.status = status;
    }
  } else {
    request.log.error({ err }, 'unhandled error');
    body = problem('internal_error', 'an internal error occurred; quote the requestId when reporting it', request.id);
  }
  await reply.code(body.status).type(PROBLEM_CONTENT_TYPE).send(body);
}

/** Throws `route_not_found`, for the not-found handler. */
export function routeNotFound(request: FastifyRequest): never {
  throw new DomainError('route_not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
}

export { STATUS_OF };
