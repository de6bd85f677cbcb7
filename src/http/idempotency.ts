/**
 * `Idempotency-Key` for every `POST` under `/v1` (Stripe's idempotent requests): the first
 * request with a key runs and its response (status < 500) is stored; a retry by the same API key
 * with the same key and the same method, path and body gets the stored response with
 * `Idempotent-Replayed: true`; the same key with a different request answers 422
 * `idempotency_key_reused`; a retry while the first is still running answers 409
 * `idempotency_key_in_use` with `Retry-After`. Keys are kept for {@link IDEMPOTENCY_RETENTION_MS}
 * (24 hours, as Stripe does); after that the key is free again.
 *
 * A key belongs to the API key that sent it (Stripe scopes keys to the account and the user):
 * another API key sending the same `Idempotency-Key` runs its own request, authorized as itself,
 * and never sees the first one's answer. A refusal with no effect (a 4xx answered before any
 * transaction committed its work: no grant, a missing resource, an invalid amount) is not stored,
 * as Stripe saves no result for a request that failed before it started executing; the key is
 * released and a retry runs again. Stored answers are sealed at rest
 * (src/db/idempotency.repository.ts). The rules are docs/api.md, "Idempotency keys".
 *
 * Crash safety: the stored answer commits in the same transaction as the request's effect. The
 * request's first transaction is held open (src/db/commit-hold.ts) until the answer is known,
 * the answer is written into it, and both commit together; a 5xx rolls the effect back and
 * releases the key. A process killed before that commit leaves neither, and its claim lapses
 * after the lease (`PAYREQ_IDEMPOTENCY_LEASE_SECONDS`), so the retry runs the request afresh;
 * killed after it, the retry replays the stored answer. Either way one effect, and "retry until
 * you get an answer" is safe. A claim taken over after its lease cannot commit its effect any
 * more (the answer is written by compare-and-set on the claim's token): it rolls back and answers 409.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../app/deps.js';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import { claimIdempotencyKey, completeIdempotencyKey, IDEMPOTENCY_RETENTION_MS, type IdempotencyOwner, releaseIdempotencyKey } from '../db/idempotency.repository.js';
import type { CommitHold } from '../db/commit-hold.js';
import { principalOf } from './auth.js';
import { crashPoint } from './crash-points.js';
import { PROBLEM_CONTENT_TYPE, problem } from './problem.js';

/** The key a request claimed (for its principal's API key), with the token of its claim. */
export interface ClaimedKey {
  key: string;
  token: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The `Idempotency-Key` this request claimed, until its answer is stored. */
    idempotency: ClaimedKey | undefined;
    /** The request's commit hold (`/v1`): active once a key is claimed. */
    commitHold: CommitHold | undefined;
  }
}

const MAX_KEY_LENGTH = 255;

/** How long a key and its stored answer are kept, in milliseconds (24 hours; src/db/idempotency.repository.ts). */
export { IDEMPOTENCY_RETENTION_MS };

/** An `onRequest` hook (callback style, so the scope covers the rest of the request) that opens the request's commit hold. */
export function commitHoldHook(deps: Deps) {
  return (request: FastifyRequest, _reply: FastifyReply, done: () => void): void => {
    const hold: CommitHold = { active: false };
    request.commitHold = hold;
    deps.store.runHolding(hold, done);
  };
}

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
    const owner: IdempotencyOwner = { orgId: principal.orgId, mode: principal.mode, apiKeyId: principal.keyId };
    const requestHash = createHash('sha256').update(`${principal.keyId}\n${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`).digest('hex');
    const now = deps.clock();
    const token = randomUUID();
    const claim = { token, requestHash, now, lockedUntil: now + deps.settings.idempotencyLeaseSeconds * 1000, expiredBefore: now - IDEMPOTENCY_RETENTION_MS };
    const existing = await claimIdempotencyKey(deps.store, owner, key, claim);
    if (!existing) {
      request.idempotency = { key, token };
      if (request.commitHold) request.commitHold.active = true;
      return;
    }
    if (existing.request_hash !== requestHash) {
      throw new DomainError('idempotency_key_reused', 'this Idempotency-Key was used with a different request');
    }
    if (existing.state !== 'done' || existing.response_status === null) {
      const wait = Math.max(1, Math.ceil(((existing.locked_until ?? now) - now) / 1000));
      void reply.header('retry-after', String(wait));
      throw new DomainError('idempotency_key_in_use', 'a request with this Idempotency-Key is still in progress; retry after the time in Retry-After');
    }
    const body = existing.response_body ?? '';
    const contentType = body.includes('"requestId"') && existing.response_status >= 400 ? PROBLEM_CONTENT_TYPE : 'application/json; charset=utf-8';
    await reply.code(existing.response_status).header('idempotent-replayed', 'true').type(contentType).send(body);
  };
}

/** Replaces the answer with a problem document (the effect was rolled back). */
function answerInstead(request: FastifyRequest, reply: FastifyReply, code: ErrorCode, detail: string): string {
  const body = problem(code, detail, request.id);
  void reply.code(body.status).type(PROBLEM_CONTENT_TYPE);
  return JSON.stringify(body);
}

/**
 * An `onSend` hook that stores the answer of a claimed key in the effect's held transaction and
 * commits both, or rolls the effect back and releases the key on a 5xx.
 */
export function idempotencyOnSend(deps: Deps) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const claimed = request.idempotency;
    if (claimed === undefined) return payload;
    request.idempotency = undefined;
    const hold = request.commitHold;
    if (hold) hold.active = false;
    const held = hold?.held;
    const principal = principalOf(request);
    const owner: IdempotencyOwner = { orgId: principal.orgId, mode: principal.mode, apiKeyId: principal.keyId };
    const { key, token } = claimed;
    crashPoint(request, 'before-commit');
    let answer = payload;
    if (reply.statusCode >= 500) {
      await held?.rollback();
      await releaseIdempotencyKey(deps.store, owner, key, token);
      return payload;
    }
    const body = typeof payload === 'string' ? payload : String(payload);
    if (held?.state === 'open') {
      let stored: boolean;
      try {
        stored = await completeIdempotencyKey(held.tx, owner, key, token, reply.statusCode, body);
        if (stored) await held.commit();
        else await held.rollback();
      } catch (err) {
        request.log.error({ err }, 'committing an idempotent request failed');
        await held.rollback();
        await releaseIdempotencyKey(deps.store, owner, key, token);
        return answerInstead(request, reply, 'service_unavailable', 'the request could not be committed; nothing was changed, retry with the same Idempotency-Key');
      }
      if (!stored) answer = answerInstead(request, reply, 'idempotency_key_in_use', 'this attempt took too long and its Idempotency-Key was taken over by a retry; nothing was changed by this attempt');
    } else if (held?.state === 'rolled_back') {
      // Held past HOLD_TIMEOUT_MS: the effect was rolled back.
      await releaseIdempotencyKey(deps.store, owner, key, token);
      return answerInstead(request, reply, 'service_unavailable', 'the request took too long and was rolled back; nothing was changed, retry with the same Idempotency-Key');
    } else if (reply.statusCode >= 400) {
      // Refused before any transaction committed work: nothing to answer for. Storing the refusal
      // would keep the key from running once the caller mends what was wrong (a missing party, a
      // grant), so the key is released and a retry runs again.
      await releaseIdempotencyKey(deps.store, owner, key, token);
      return payload;
    } else {
      // A success with no transaction (nothing to write, say a repeat found by its reference): the answer alone is stored.
      await completeIdempotencyKey(deps.store, owner, key, token, reply.statusCode, body);
    }
    crashPoint(request, 'after-commit');
    // In durable mode the stored answer and the effect are on disk before the client reads them.
    await deps.store.durable();
    return answer;
  };
}
