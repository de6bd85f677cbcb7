/**
 * Request Network's server-side authentication: `x-api-key: <key>` (docs/dialects/request-network.md,
 * "Authentication"), here a Payreq API key (`prq_test_…` / `prq_live_…`). A missing or unknown key answers
 * 401 `{statusCode: 401, message: "Unauthorized", error: "Unauthorized"}`. The browser-side
 * `x-client-id` + `Origin` scheme is not offered: Payreq has no client ids.
 */
import type { FastifyRequest } from 'fastify';
import { AuthCache, authenticate } from '../../app/api-keys.js';
import type { Deps } from '../../app/deps.js';
import { DomainError } from '../../domain/errors.js';

/** An `onRequest` hook that authenticates `x-api-key`. */
export function apiKeyHook(deps: Deps) {
  const cache = new AuthCache();
  return async (request: FastifyRequest): Promise<void> => {
    const key = request.headers['x-api-key'];
    if (typeof key !== 'string' || key.length === 0) throw new DomainError('unauthenticated', 'Unauthorized');
    try {
      request.principal = await authenticate(deps, key, cache);
    } catch {
      throw new DomainError('unauthenticated', 'Unauthorized');
    }
  };
}
