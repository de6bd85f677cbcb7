/**
 * Per-key rate limits on the API and the dialects (issue 12), with `@fastify/rate-limit`: each
 * API key (whatever header carries it: `Authorization`, `X-Api-Key`, `X-Processing-Key`) may make
 * `max` requests per window; a call without a key counts against its client address. Past it,
 * 429 `rate_limited` with `Retry-After` (seconds), in each route's own error format. With Redis
 * (`PAYREQ_REDIS_URL`) the counters are shared by every process; without it, each process counts
 * alone. Should Redis fail, requests go through (`skipOnError`) rather than fail.
 * The pay page keeps its own per-address limit (src/http/pay-page.ts); health, metrics and the
 * API documents are not limited.
 */
import { createHash } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { DomainError } from '../domain/errors.js';

/** Options for {@link registerRateLimit}. */
export interface RateLimitOptions {
  /** Requests per key in each window; 0 turns the limit off. */
  max: number;
  /** The window, in seconds. */
  windowSeconds: number;
  /** A shared store; absent: in memory, per process. */
  redis?: Redis | undefined;
}

const UNLIMITED = /^\/(pay\/|healthz$|metrics$|openapi\.json$|docs(\/|$))/;

/** The credential a request carries, whichever header it is in, or undefined. */
function credentialOf(request: FastifyRequest): string | undefined {
  const h = request.headers;
  const value = h['authorization'] ?? h['x-api-key'] ?? h['x-processing-key'];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/**
 * Registers the limit on `app`'s routes registered after it.
 * @returns nothing; does nothing when `max` is 0.
 */
export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  if (options.max === 0) return;
  await app.register(rateLimit, {
    global: true,
    max: options.max,
    timeWindow: options.windowSeconds * 1000,
    ...(options.redis ? { redis: options.redis, nameSpace: 'payreq-rate-limit-', skipOnError: true } : {}),
    allowList: (request) => UNLIMITED.test(request.url),
    // Hashed, so that no secret sits in memory or in Redis as a key.
    keyGenerator: (request) => {
      const credential = credentialOf(request);
      return credential === undefined ? `ip:${request.ip}` : `key:${createHash('sha256').update(credential).digest('base64url')}`;
    },
    errorResponseBuilder: (_request, context) => new DomainError('rate_limited', `too many requests: at most ${context.max} per ${options.windowSeconds} s for this API key; retry after ${context.after}`),
  });
}
