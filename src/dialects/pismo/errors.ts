/**
 * Pismo's error bodies. Pismo's OpenAPI names an `ErrorModel` ("API generic returned error")
 * whose first property starts with `error_`; the rest of its shape is not public
 * (docs/dialects/pismo.md). Payreq's choice: `{"error_code": "<UPPER_SNAKE>",
 * "error_message": "<text>"}`, plus `errors: [{field, message}]` for field problems. The one
 * documented case, an unknown or expired token on confirm, answers 400 (`INVALID_TOKEN`).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../../domain/errors.js';
import { clientErrorStatus, isJsonError, normalizeError, schemaIssues } from '../../http/errors.js';
import { STATUS_OF } from '../../http/problem.js';

/** A Pismo-shaped error: a status and an upper-snake code, thrown by the dialect's own checks. */
export class PismoError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
  ) {
    super(message);
  }
}

/** The body and status of an error on a Pismo route. Payreq's 422 problems answer 400 here. */
export function renderPismoError(error: unknown): { status: number; body: Record<string, unknown> } {
  const err = normalizeError(error);
  if (err instanceof PismoError) return { status: err.status, body: { error_code: err.errorCode, error_message: err.message } };
  const issues = schemaIssues(err);
  if (issues !== undefined) {
    const errors = issues.map((issue) => ({ field: issue.path.join('.') || (issue.unknownKeys ?? []).join(', ') || '(root)', message: issue.message }));
    return { status: 400, body: { error_code: 'VALIDATION_FAILED', error_message: errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors } };
  }
  if (isDomainError(err)) {
    const status = STATUS_OF[err.code] === 422 ? 400 : STATUS_OF[err.code];
    const body: Record<string, unknown> = { error_code: err.code.toUpperCase(), error_message: err.message };
    if (err.errors) body['errors'] = err.errors.map((e) => ({ field: e.path, message: e.message }));
    return { status, body };
  }
  const status = clientErrorStatus(err);
  // Only a body that is not JSON is MALFORMED_JSON; any other 400 (a broken escape in the path) says what it is.
  if (status === 400 && isJsonError(err)) return { status: 400, body: { error_code: 'MALFORMED_JSON', error_message: 'the body is not valid JSON' } };
  if (status !== undefined) return { status, body: { error_code: status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED_MEDIA_TYPE' : 'BAD_REQUEST', error_message: (err as Error).message } };
  return { status: 500, body: { error_code: 'INTERNAL_ERROR', error_message: 'an internal error occurred' } };
}

/** The Fastify error handler of the Pismo scope. */
export async function sendPismoError(err: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { status, body } = renderPismoError(err);
  if (status >= 500) request.log.error({ err }, 'unhandled error in the pismo dialect');
  await reply.code(status).type('application/json; charset=utf-8').send(body);
}
