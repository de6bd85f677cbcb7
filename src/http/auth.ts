/**
 * Bearer authentication for `/v1`: `Authorization: Bearer prq_test_…`. The principal is
 * attached to the request; a missing, malformed, unknown or revoked key answers 401.
 */
import type { FastifyRequest } from 'fastify';
import { AuthCache, authenticate } from '../app/api-keys.js';
import type { Deps, Principal } from '../app/deps.js';
import { DomainError } from '../domain/errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

/** The authenticated principal of a `/v1` request. */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new DomainError('unauthenticated', 'an API key is required');
  return request.principal;
}

/** An `onRequest` hook that authenticates the bearer key. */
export function authHook(deps: Deps) {
  const cache = new AuthCache();
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers.authorization;
    const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new DomainError('unauthenticated', 'send the API key as "Authorization: Bearer <key>"');
    request.principal = await authenticate(deps, match[1], cache);
  };
}
