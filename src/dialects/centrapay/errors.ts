/**
 * Centrapay's errors (docs/dialects/centrapay.md): `{statusCode, error, message}` where `error`
 * is the HTTP reason phrase and `message` a code such as `INSUFFICIENT_BALANCE`. "A 403 status
 * indicates resource missing, permission denied or business rule violation": a missing or
 * foreign resource is `403 Forbidden`, never 404 (404 is for an unknown route).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../../domain/errors.js';
import { normalizeError, schemaIssues } from '../../http/errors.js';
import { STATUS_OF } from '../../http/problem.js';

const REASON: Readonly<Record<number, string>> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 410: 'Gone', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable' };

/** A Centrapay-shaped error: `message` is Centrapay's code (`NOT_PAID`) or, on a 400, a sentence naming the field. */
export class CentrapayError extends Error {
  constructor(
    readonly statusCode: 400 | 401 | 403 | 404 | 410 | 429 | 503,
    message: string,
  ) {
    super(message);
  }
}

/** Centrapay's 403 for a missing, foreign or forbidden resource: `{"statusCode":403,"error":"Forbidden","message":"Forbidden"}`. */
export function forbidden(): CentrapayError {
  return new CentrapayError(403, 'Forbidden');
}

/** The status and body of an error on a Centrapay route. */
export function renderCentrapayError(error: unknown): { status: number; body: { statusCode: number; error: string; message: string } } {
  const err = normalizeError(error);
  const body = (status: number, message: string) => ({ status, body: { statusCode: status, error: REASON[status] ?? 'Error', message } });
  if (err instanceof CentrapayError) return body(err.statusCode, err.message);
  const issues = schemaIssues(err);
  if (issues?.[0] !== undefined) {
    const issue = issues[0];
    const path = [...issue.path, ...(issue.unknownKeys ?? [])].join('.') || 'body';
    return body(400, /received undefined/.test(issue.message) ? `${path} is required` : `${path} ${issue.message}`);
  }
  if (isDomainError(err)) {
    const status = STATUS_OF[err.code];
    if (status === 401) return body(401, 'Missing authentication');
    if (status === 404 || err.code === 'forbidden') return body(403, 'Forbidden');
    if (status === 503) return body(503, 'SERVICE_UNAVAILABLE');
    if (status === 429) return body(429, 'TOO_MANY_REQUESTS');
    if (status === 422 || status === 400) return body(400, err.errors?.[0] ? `${err.errors[0].path} ${err.errors[0].message}` : err.message);
    return body(403, err.code.toUpperCase());
  }
  // Fastify's own refusals (malformed JSON, a media type or size it does not take): Centrapay
  // answers only 400 for a bad request.
  const statusCode = typeof err === 'object' && err !== null ? (err as { statusCode?: unknown }).statusCode : undefined;
  if (err instanceof SyntaxError || (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500)) return body(400, 'BAD REQUEST');
  return body(500, 'SERVER ERROR');
}

/** The Fastify error handler of the Centrapay scope. */
export async function sendCentrapayError(err: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { status, body } = renderCentrapayError(err);
  if (status >= 500) request.log.error({ err }, 'unhandled error in the centrapay dialect');
  await reply.code(status).type('application/json').send(body);
}
