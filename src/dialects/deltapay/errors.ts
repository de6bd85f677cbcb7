/**
 * DeltaPay's errors are FastAPI's (docs/dialects/deltapay.md): `{"detail": "<text>"}`, and for
 * an invalid body FastAPI's own 422 `{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`. A
 * missing permission is **401** with the documented text naming the permission and its target;
 * a missing resource is 404 "The requested resource does not exist".
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../../domain/errors.js';
import { clientErrorStatus, isJsonError, normalizeError, schemaIssues } from '../../http/errors.js';
import { STATUS_OF } from '../../http/problem.js';

/** A DeltaPay-shaped error thrown by the dialect's own checks. */
export class DeltaPayError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string | { loc: (string | number)[]; msg: string; type: string }[],
  ) {
    super(typeof detail === 'string' ? detail : detail.map((d) => d.msg).join('; '));
  }
}

/** The 401 for a missing permission, in DeltaPay's words: `…permission: view_payment_requests (target_user_id: 2)`. */
export function permissionError(permission: string, target?: { kind: string; id: number | string }): DeltaPayError {
  return new DeltaPayError(401, `API key does not have the required permission: ${permission}${target ? ` (target_${target.kind}_id: ${target.id})` : ''}`);
}

/** FastAPI's 422 body for one field of the body or query. */
export function fieldProblem(where: 'body' | 'query', field: string, msg: string): DeltaPayError {
  return new DeltaPayError(422, [{ loc: [where, field], msg, type: 'value_error' }]);
}

/** The status and body of an error on a DeltaPay route. */
export function renderDeltaPayError(error: unknown): { status: number; body: Record<string, unknown> } {
  const err = normalizeError(error);
  if (err instanceof DeltaPayError) return { status: err.status, body: { detail: err.detail } };
  const issues = schemaIssues(err);
  if (issues !== undefined) {
    const detail = issues.map((issue) => ({
      loc: [issue.context === 'querystring' ? 'query' : 'body', ...(issue.path.length > 0 ? issue.path : (issue.unknownKeys ?? []))],
      msg: issue.message,
      type: issue.unknownKeys ? 'missing' : 'value_error',
    }));
    return { status: 422, body: { detail } };
  }
  if (isDomainError(err)) {
    const status = STATUS_OF[err.code];
    if (status === 404) return { status: 404, body: { detail: 'The requested resource does not exist' } };
    if (status === 401) return { status: 401, body: { detail: 'Not authorized' } };
    if (status === 422 && err.errors) return { status: 422, body: { detail: err.errors.map((e) => ({ loc: ['body', ...e.path.split('.')], msg: e.message, type: 'value_error' })) } };
    return { status, body: { detail: err.message } };
  }
  const status = clientErrorStatus(err);
  // Only a body that is not JSON is json_invalid; any other 400 (a broken escape in the path) says what it is.
  if (status === 400 && isJsonError(err)) return { status: 422, body: { detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] } };
  if (status !== undefined) return { status, body: { detail: (err as Error).message } };
  return { status: 500, body: { detail: 'Internal Server Error' } };
}

/** The Fastify error handler of the DeltaPay scope. */
export async function sendDeltaPayError(err: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { status, body } = renderDeltaPayError(err);
  if (status >= 500) request.log.error({ err }, 'unhandled error in the deltapay dialect');
  await reply.code(status).type('application/json').send(body);
}
