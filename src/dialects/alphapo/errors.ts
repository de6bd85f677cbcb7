/**
 * AlphaPo's errors (docs/dialects/alphapo.md, https://docs.alphapo.net): every
 * body is `{"error": <text>, "code": <code>}`. Authentication failures carry a string code
 * (`bad_header_signature`…); the create call's own errors an integer code equal to the HTTP
 * status (400, 404, 422), and "Merchant is disabled." the integer 403.
 */
import { normalizeError } from '../../http/errors.js';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDomainError } from '../../domain/errors.js';
import { STATUS_OF } from '../../http/problem.js';

/** An AlphaPo-shaped error: `error` is the documented text, `code` the documented code. */
export class AlphaPoError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly code: string | number = status,
  ) {
    super(error);
  }
}

/** The documented authentication failures (docs/dialects/alphapo.md), by code. */
export const AUTH_ERRORS = {
  required_header_key: new AlphaPoError(403, 'No key header', 'required_header_key'),
  bad_header_key: new AlphaPoError(403, 'Bad key header', 'bad_header_key'),
  required_header_signature: new AlphaPoError(403, 'No signature header', 'required_header_signature'),
  bad_header_signature: new AlphaPoError(403, 'Bad signature header', 'bad_header_signature'),
  bad_content_format: new AlphaPoError(400, 'Bad content format', 'bad_content_format'),
  client_disabled: new AlphaPoError(403, 'Client is not enabled', 'client_disabled'),
  merchant_disabled: new AlphaPoError(403, 'Merchant is disabled.', 403),
} as const;

/** A 422 validation failure with AlphaPo's text. */
export function invalid(text: string): AlphaPoError {
  return new AlphaPoError(422, text);
}

/** The status and body of an error on an AlphaPo route. */
export function renderAlphaPoError(error: unknown): { status: number; body: { error: string; code: string | number } } {
  const err = normalizeError(error);
  if (err instanceof AlphaPoError) return { status: err.status, body: { error: err.error, code: err.code } };
  if (isDomainError(err)) {
    const status = STATUS_OF[err.code];
    if (status === 401) return renderAlphaPoError(AUTH_ERRORS.bad_header_key);
    if (status === 403) return renderAlphaPoError(AUTH_ERRORS.merchant_disabled);
    if (status === 503) return { status: 503, body: { error: 'Service unavailable', code: 503 } };
    const shown = status >= 500 ? 422 : status === 409 ? 400 : status;
    return { status: shown, body: { error: err.message, code: shown } };
  }
  if (typeof err === 'object' && err !== null && (err as { statusCode?: unknown }).statusCode === 413) return { status: 413, body: { error: 'Payload too large', code: 413 } };
  if (typeof err === 'object' && err !== null && typeof (err as { statusCode?: unknown }).statusCode === 'number' && ((err as { statusCode: number }).statusCode < 500)) {
    return renderAlphaPoError(AUTH_ERRORS.bad_content_format);
  }
  return { status: 500, body: { error: 'Internal server error', code: 500 } };
}

/** The Fastify error handler of the AlphaPo scope. */
export async function sendAlphaPoError(err: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { status, body } = renderAlphaPoError(err);
  if (status >= 500) request.log.error({ err }, 'unhandled error in the alphapo dialect');
  await reply.code(status).type('application/json').send(body);
}
