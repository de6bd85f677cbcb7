/**
 * Rate limits on the API and the dialects, with `@fastify/rate-limit`, in two buckets:
 *
 * - Per API key: each key may make `max` requests per window, counted on the key's id once the
 *   route family has authenticated it (whatever header carried it and however it was spelled),
 *   so that rewriting the credential (`bearer`, extra spaces, a junk `Authorization` beside
 *   `X-Api-Key`) does not open a fresh bucket. A call that needs no key counts against its
 *   client address.
 * - Per client address, failed authentications: every 401 (or 403) answered without an
 *   authenticated key on these routes counts; an address
 *   past `authFailures` in the window is refused before its credential is even read, so
 *   guessing keys or flooding with bad ones is bounded too.
 *
 * Past either, 429 `rate_limited` with `Retry-After` (seconds), in each route's own error format.
 * The client address is Fastify's `request.ip`: the socket's peer, or with `trustProxy`
 * (`PAYREQ_TRUST_PROXY`) the address the trusted proxies put in `X-Forwarded-For`; an IPv6
 * client counts per /64 ({@link clientAddress}). With Redis
 * (`PAYREQ_REDIS_URL`) both counts are shared by every process; without it, each process
 * counts alone. Should Redis fail, requests go through rather than fail.
 * The pay page keeps its own per-address limit (src/http/pay-page.ts); health, metrics and the
 * API documents are not limited.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import ipaddr from 'ipaddr.js';
import { DomainError } from '../domain/errors.js';

/**
 * The client a per-address limit counts: Fastify's `request.ip` (see `PAYREQ_TRUST_PROXY`), with
 * an IPv4-mapped IPv6 address as its IPv4 address and any other IPv6 address as its /64 prefix
 * (`2001:db8:1:2::/64`). A /64 is the smallest block a network hands one subscriber (RFC 6177;
 * RFC 7421), who may use every address in it, so counting single IPv6 addresses would let one
 * client open a fresh count per request; `@fastify/rate-limit`'s own default does the same
 * (https://github.com/fastify/fastify-rate-limit, `ipv6Subnet`). Anything that does not parse as
 * an address is counted as it is.
 */
export function clientAddress(request: Pick<FastifyRequest, 'ip'>): string {
  const ip = request.ip;
  if (!ipaddr.isValid(ip)) return ip;
  const parsed = ipaddr.process(ip);
  if (parsed instanceof ipaddr.IPv4) return parsed.toString();
  const prefix = ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toString()}/64`);
  return `${prefix.toString()}/64`;
}

/** Options for {@link registerRateLimit}. */
export interface RateLimitOptions {
  /** Requests per key in each window; 0 turns the limit off. */
  max: number;
  /** The window, in seconds. */
  windowSeconds: number;
  /** Failed authentications (401 or 403 answers without a principal) per client address in each window; 0 (or absent) turns this limit off. */
  authFailures?: number;
  /** A shared store; absent: in memory, per process. */
  redis?: Redis | undefined;
}

const UNLIMITED = /^\/(pay\/|healthz$|metrics$|openapi\.json$|docs(\/|$))/;

/** True for the routes the limits apply to: the API and the dialects. */
function limited(request: FastifyRequest): boolean {
  return !UNLIMITED.test(request.url);
}

/** A count per name over fixed windows: how many so far, and when the window ends. */
export interface WindowCounter {
  /** Adds one to `name`'s count in its current window. */
  hit(name: string): Promise<void>;
  /** `name`'s count in its current window and the ms left of it (0 when none is open). */
  read(name: string): Promise<{ count: number; msLeft: number }>;
}

/**
 * In this process's memory. Every window has the same length and a name that opens a new one is
 * moved to the end, so the map stays in order of `endsAt`: ended windows are dropped from its
 * front, in time proportional to what is dropped, and past `maxNames` open windows the oldest go
 * first, so that many client addresses cost neither unbounded memory nor a scan per call.
 */
export class MemoryCounter implements WindowCounter {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  /**
   * @param windowMs the window's length, in ms.
   * @param maxNames how many open windows are kept at most (oldest dropped first).
   * @param now the clock, epoch ms.
   */
  constructor(
    private readonly windowMs: number,
    private readonly maxNames = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** How many windows are kept now (open, or ended and not yet dropped). */
  get size(): number {
    return this.windows.size;
  }

  async hit(name: string): Promise<void> {
    const now = this.now();
    const current = this.windows.get(name);
    if (current !== undefined && current.endsAt > now) current.count += 1;
    else {
      if (current !== undefined) this.windows.delete(name);
      for (const [k, w] of this.windows) {
        if (w.endsAt > now && this.windows.size < this.maxNames) break;
        this.windows.delete(k);
      }
      this.windows.set(name, { count: 1, endsAt: now + this.windowMs });
    }
    return Promise.resolve();
  }

  async read(name: string): Promise<{ count: number; msLeft: number }> {
    const w = this.windows.get(name);
    const msLeft = w === undefined ? 0 : w.endsAt - this.now();
    return Promise.resolve(w === undefined || msLeft <= 0 ? { count: 0, msLeft: 0 } : { count: w.count, msLeft });
  }
}

/** In Redis, shared by every process: `INCR`, with the window's `PEXPIRE` set by the first hit. */
class RedisCounter implements WindowCounter {
  constructor(private readonly redis: Redis, private readonly windowMs: number) {}

  async hit(name: string): Promise<void> {
    const key = `payreq-auth-failures-${name}`;
    if ((await this.redis.incr(key)) === 1) await this.redis.pexpire(key, this.windowMs);
  }

  async read(name: string): Promise<{ count: number; msLeft: number }> {
    const key = `payreq-auth-failures-${name}`;
    const [count, ttl] = await Promise.all([this.redis.get(key), this.redis.pttl(key)]);
    return { count: Number(count ?? 0), msLeft: ttl > 0 ? ttl : 0 };
  }
}

/**
 * Registers both limits on `app`'s routes registered after it.
 * @returns nothing; a limit whose maximum is 0 is not installed.
 */
export async function registerRateLimit(app: FastifyInstance, options: RateLimitOptions): Promise<void> {
  const failuresMax = options.authFailures ?? 0;
  if (failuresMax > 0) {
    const windowMs = options.windowSeconds * 1000;
    const failures: WindowCounter = options.redis ? new RedisCounter(options.redis, windowMs) : new MemoryCounter(windowMs);
    // Before any route family's authentication (their hooks are on their own scopes, so after this one).
    app.addHook('onRequest', async (request, reply) => {
      if (!limited(request)) return;
      let state: { count: number; msLeft: number };
      try {
        state = await failures.read(clientAddress(request));
      } catch {
        return; // Redis down: let requests through, as the per-key limit does.
      }
      if (state.count < failuresMax) return;
      const after = Math.max(1, Math.ceil(state.msLeft / 1000));
      void reply.header('retry-after', String(after));
      throw new DomainError('rate_limited', `too many failed authentications from this address: at most ${failuresMax} per ${options.windowSeconds} s; retry after ${after} s`);
    });
    // A failed authentication: refused 401, or 403 (AlphaPo's answer to a bad key or signature),
    // with no principal on the request, whatever the family's wording.
    // Counted before the answer leaves, so that the client's next call sees the count.
    app.addHook('onSend', async (request, reply, payload) => {
      if ((reply.statusCode !== 401 && reply.statusCode !== 403) || request.principal !== undefined || !limited(request)) return payload;
      try {
        await failures.hit(clientAddress(request));
      } catch (err) {
        request.log.warn({ err }, 'could not count a failed authentication');
      }
      return payload;
    });
  }
  if (options.max === 0) return;
  await app.register(rateLimit, {
    global: true,
    // After each family's authentication (onRequest hooks, AlphaPo's preValidation), so that the
    // bucket is the key's id rather than the text that carried it.
    hook: 'preValidation',
    max: options.max,
    timeWindow: options.windowSeconds * 1000,
    ...(options.redis ? { redis: options.redis, nameSpace: 'payreq-rate-limit-', skipOnError: true } : {}),
    allowList: (request) => !limited(request),
    keyGenerator: (request) => (request.principal === undefined ? `ip:${clientAddress(request)}` : `key:${request.principal.keyId}`),
    errorResponseBuilder: (_request, context) => new DomainError('rate_limited', `too many requests: at most ${context.max} per ${options.windowSeconds} s for this API key; retry after ${context.after}`),
  });
  // A key authenticated by its family's onRequest hook is counted before its body is read too:
  // a body that fails to parse (not JSON, too large, an unknown media type) is refused before
  // preValidation, and would otherwise never reach the key's bucket. The same limiter, so the
  // route's own preValidation check then sees it has run and does not count the call twice;
  // AlphaPo, authenticated only at preValidation, is counted there.
  const countEarly = app.rateLimit();
  app.addHook('preParsing', async (request, reply, payload) => {
    if (request.principal !== undefined && limited(request)) await countEarly.call(app, request, reply);
    return payload;
  });
}
