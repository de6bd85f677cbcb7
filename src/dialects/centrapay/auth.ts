/**
 * Centrapay's authentication (docs/dialects/centrapay.md): `X-Api-Key: <key>`, here a Payreq API
 * key. A missing header answers 401 "Missing authentication"; an unknown, malformed or revoked
 * key 401 "Invalid authentication" (Payreq's wording: Centrapay documents only the first).
 * Centrapay's other scheme, a user JWT in `Authorization`, has no Payreq counterpart.
 */
import type { FastifyRequest } from 'fastify';
import { AuthCache, authenticate } from '../../app/api-keys.js';
import type { Deps } from '../../app/deps.js';
import { CentrapayError } from './errors.js';

/** An `onRequest` hook that authenticates Centrapay's way. */
export function centrapayAuthHook(deps: Deps) {
  const cache = new AuthCache();
  return async (request: FastifyRequest): Promise<void> => {
    const header = request.headers['x-api-key'];
    const key = Array.isArray(header) ? header[0] : header;
    if (key === undefined || key === '') throw new CentrapayError(401, 'Missing authentication');
    try {
      request.principal = await authenticate(deps, key, cache);
    } catch {
      throw new CentrapayError(401, 'Invalid authentication');
    }
  };
}
