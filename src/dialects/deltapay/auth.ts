/**
 * DeltaPay's authentication (docs/dialects/deltapay.md): `x-api-key: <key>` or
 * `Authorization: Bearer <token>`, here a Payreq API key either way. Both at once: 401 "Provide
 * either a token or an API key, not both"; neither: 401 "Either a token or an API key must be
 * provided"; an unknown key: 401 "Invalid API key" (or "Not authorized" for a bearer token).
 */
import type { FastifyRequest } from 'fastify';
import { AuthCache, authenticate } from '../../app/api-keys.js';
import type { Deps } from '../../app/deps.js';
import { DeltaPayError } from './errors.js';

/** An `onRequest` hook that authenticates DeltaPay's way. */
export function deltapayAuthHook(deps: Deps) {
  const cache = new AuthCache();
  return async (request: FastifyRequest): Promise<void> => {
    const apiKey = request.headers['x-api-key'];
    const authorization = request.headers.authorization;
    if (apiKey !== undefined && authorization !== undefined) throw new DeltaPayError(401, 'Provide either a token or an API key, not both');
    if (apiKey === undefined && authorization === undefined) throw new DeltaPayError(401, 'Either a token or an API key must be provided');
    const secret = typeof apiKey === 'string' ? apiKey : /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1];
    if (!secret) throw new DeltaPayError(401, 'Not authorized');
    try {
      request.principal = await authenticate(deps, secret, cache);
    } catch {
      throw new DeltaPayError(401, apiKey !== undefined ? 'Invalid API key' : 'Not authorized');
    }
  };
}
