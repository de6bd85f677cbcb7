/**
 * `Idempotency-Key` for every `POST` under `/v1` (Stripe's idempotent requests): the first
 * request with a key runs and its response (status < 500) is stored; a retry with the same
 * key and the same method, path and body gets the stored response with
 * `Idempotent-Replayed: true`; the same key with a different request answers 422
 * `idempotency_key_reused`; a retry while the first is still running answers 409
 * `idempotency_key_in_use`. A 5xx releases the key so the retry runs again. Keys are kept for
 * {@link IDEMPOTENCY_RETENTION_MS} (24 hours, as Stripe does); after that the key is free again.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../app/deps.js';
import { DomainError } from '../domain/errors.js';
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey } from '../db/idempotency.repository.js';
import { principalOf } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    idempotencyKey: string | undefined;
  }
}

const MAX_KEY_LENGTH = 255;

/** How long a key and its stored answer are kept, in milliseconds (24 hours). */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** A `preHandler` hook that claims the key or replays the stored response. */
export function idempotencyPreHandler(deps: Deps) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers['idempotency-key'];
    if (request.method !== 'POST' || header === undefined) return;
    const key = Array.isArray(header) ? header[0] ?? '' : header;
    if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
      throw new DomainError('validation_failed', `Idempotency-Key must be 1 to ${MAX_KEY_LENGTH} characters`, { errors: [{ path: 'headers.idempotency-key', message: 'invalid length' }] });
    }
    const principal = principalOf(request);
    const hash = createHash('sha256').update(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`).digest('hex');
    const now = deps.clock();
    const existing = await claimIdempotencyKey(deps.store, principal.orgId, principal.mode, key, hash, now, now - IDEMPOTENCY_RETENTION_MS);
    if (!existing) {
      request.idempotencyKey = key;
      return;
    }
    if (existing.request_hash !== hash) {
      throw new DomainError('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
    }
    if (existing.state !== 'done' || existing.response_status === null) {
      throw new DomainError('idempotency_key_in_use', 'a request with this Idempotency-Key is still in progress');
    }
    const body = existing.response_body ?? '';
    const contentType = body.includes('"requestId"') && existing.response_status >= 400 ? 'application/problem+json' : 'application/json; charset=utf-8';
    await reply.code(existing.response_status).header('idempotent-replayed', 'true').type(contentType).send(body);
  };
}

/** An `onSend` hook that stores the response of a claimed key, or releases it on a 5xx. */
export function idempotencyOnSend(deps: Deps) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const key = request.idempotencyKey;
    if (key === undefined || !request.principal) return payload;
    request.idempotencyKey = undefined;
    const { orgId, mode } = request.principal;
    if (reply.statusCode >= 500) await releaseIdempotencyKey(deps.store, orgId, mode, key);
    else await completeIdempotencyKey(deps.store, orgId, mode, key, reply.statusCode, typeof payload === 'string' ? payload : String(payload));
    // In durable mode the stored answer is on disk before the client reads it (the effect already is: app.ts).
    await deps.store.durable();
    return payload;
  };
}
