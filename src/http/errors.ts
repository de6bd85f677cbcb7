/**
 * The one error handler: every error leaves as an RFC 9457 problem document. Domain errors map
 * through `STATUS_OF`; schema validation becomes `validation_failed` with `errors[]`; Fastify's
 * body errors become `malformed_json`, `payload_too_large` or `unsupported_media_type`; anything
 * else is a bug: logged with its cause and answered as a generic 500 with the request id.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { DomainError, type ErrorCode, type FieldError, isDomainError } from '../domain/errors.js';
import { problem, PROBLEM_CONTENT_TYPE, STATUS_OF } from './problem.js';

interface ZodIssueParams {
  keys?: string[];
}

function validationErrors(error: { validation: { instancePath: string; message?: string | undefined; params: unknown }[]; validationContext?: string | undefined }): FieldError[] {
  const prefix = error.validationContext === 'body' || error.validationContext === undefined ? '' : `${error.validationContext}.`;
  return error.validation.flatMap((v) => {
    const base = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
    const keys = (v.params as ZodIssueParams).keys;
    if (keys && keys.length > 0) {
      return keys.map((k) => ({ path: `${prefix}${base ? `${base}.` : ''}${k}`, message: 'unknown field' }));
    }
    return [{ path: `${prefix}${base}` || prefix.replace(/\.$/, '') || '(root)', message: v.message ?? 'invalid' }];
  });
}

const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'malformed_json',
};

/** Sends `err` as a problem document. */
export async function sendError(err: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  let body;
  if (isDomainError(err)) {
    body = problem(err.code, err.message, request.id, { errors: err.errors, details: err.details });
  } else if (hasZodFastifySchemaValidationErrors(err)) {
    const errors = validationErrors(err);
    body = problem('validation_failed', `the request is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, request.id, { errors });
  } else if (typeof (err as FastifyError).code === 'string' && FASTIFY_CODES[(err as FastifyError).code] !== undefined) {
    const code = FASTIFY_CODES[(err as FastifyError).code] as ErrorCode;
    const detail = code === 'malformed_json' ? 'the body is not valid JSON' : (err as Error).message;
    body = problem(code, detail, request.id);
  } else if (err instanceof SyntaxError && (err as FastifyError).statusCode === 400) {
    body = problem('malformed_json', 'the body is not valid JSON', request.id);
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
