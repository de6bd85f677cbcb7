/**
 * Errors in the Request Network API's shape (docs/dialects/request-network.md): NestJS bodies
 * `{statusCode, message, error}`; validation failures `{statusCode: 400, message: "Validation
 * failed", error: "Bad Request", errors: [{field, message}]}`, and on the pay routes the
 * documented `{message: "Validation failed", errors: [{field, message}]}` without `statusCode`.
 * Payreq's 422 codes answer 400 here (NestJS has no 422 in these examples); a missing request
 * answers the documented "Request not found".
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode, isDomainError } from '../../domain/errors.js';
import { clientErrorStatus, isJsonError, normalizeError, schemaIssues } from '../../http/errors.js';
import { STATUS_OF } from '../../http/problem.js';

/** NestJS's `error` text for each status. */
const NEST_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

const NOT_FOUND_TEXT: Partial<Record<ErrorCode, string>> = {
  payment_request_not_found: 'Request not found',
  route_not_found: 'Cannot find the route',
  webhook_endpoint_not_found: 'Webhook not found',
};

/** The status a Payreq error code answers with in this dialect. */
export function dialectStatus(code: ErrorCode): number {
  const status = STATUS_OF[code];
  return status === 422 ? 400 : status;
}

/** A validation failure on `field`, rendered in the documented shape. */
export function validationFailed(field: string, message: string): DomainError {
  return new DomainError('validation_failed', message, { errors: [{ path: field, message }] });
}

/** The Request Network-shaped body and status of an error. */
export function renderError(error: unknown, options: { payRoute: boolean }): { status: number; body: Record<string, unknown> } {
  const err = normalizeError(error);
  const issues = schemaIssues(err);
  if (issues !== undefined) {
    const errors = issues.map((issue) => ({ field: issue.path.join('.') || issue.unknownKeys?.join(', ') || '(root)', message: issue.unknownKeys ? 'unknown field' : issue.message }));
    return validation(errors, options.payRoute);
  }
  if (isDomainError(err)) {
    if (err.errors && err.errors.length > 0 && dialectStatus(err.code) === 400) {
      return validation(err.errors.map((e) => ({ field: e.path.replace(/^querystring\./, ''), message: e.message })), options.payRoute);
    }
    const status = dialectStatus(err.code);
    return { status, body: { statusCode: status, message: NOT_FOUND_TEXT[err.code] ?? err.message, error: NEST_TEXT[status] ?? 'Error' } };
  }
  const status = clientErrorStatus(err);
  // Only a body that is not JSON is 'Invalid JSON body'; any other 400 (a broken escape in the path) says what it is.
  if (status === 400 && isJsonError(err)) return { status: 400, body: { statusCode: 400, message: 'Invalid JSON body', error: 'Bad Request' } };
  if (status !== undefined) return { status, body: { statusCode: status, message: (err as Error).message, error: NEST_TEXT[status] ?? 'Error' } };
  return { status: 500, body: { statusCode: 500, message: 'Internal server error', error: 'Internal Server Error' } };
}

function validation(errors: { field: string; message: string }[], payRoute: boolean) {
  const body: Record<string, unknown> = payRoute ? { message: 'Validation failed', errors } : { statusCode: 400, message: 'Validation failed', error: 'Bad Request', errors };
  return { status: 400, body };
}

/** A Fastify error handler for the dialect's routes (the pay routes set `config.payRoute`). */
export async function sendDialectError(err: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { status, body } = renderError(err, { payRoute: (request.routeOptions.config as { payRoute?: boolean } | undefined)?.payRoute === true });
  if (status >= 500) request.log.error({ err }, 'unhandled error in the request-network dialect');
  await reply.code(status).type('application/json; charset=utf-8').send(body);
}
