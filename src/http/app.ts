/**
 * `buildApp(deps)` assembles the Fastify application and never listens (`server.ts` does).
 * Routes: `/v1/*` (bearer auth, idempotency keys), each dialect's under its prefix (the list
 * given in `options.dialects`: src/dialects/index.ts in the server), `/healthz`, `/metrics`,
 * `/openapi.json`, `/docs`, `/pay/:code`.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Deps } from '../app/deps.js';
import { EventFeed, type StreamCaps, StreamSlots } from '../app/event-stream.js';
import { DomainError, type ErrorCode } from '../domain/errors.js';
import { MAX_BODY_DEPTH, nestsDeeperThan } from '../domain/json-depth.js';
import { authHook } from './auth.js';
import { retryAfterOf, routeNotFound, sendError } from './errors.js';
import { crashPoint } from './crash-points.js';
import type { ConfiguredDialect, ErrorSender, SecurityScheme } from './dialect.js';
import { PROBLEM_CONTENT_TYPE, problem, STATUS_OF } from './problem.js';
import { type RateLimitOptions, registerRateLimit } from './rate-limit.js';
import { recordRoutes } from './route-table.js';
import { commitHoldHook, idempotencyOnSend, idempotencyPreHandler } from './idempotency.js';
import { payPageRoutes, sendPayPageError } from './pay-page.js';
import { merchantRoutes } from './routes/merchants.routes.js';
import { partyRoutes } from './routes/parties.routes.js';
import { paymentRequestRoutes } from './routes/payment-requests.routes.js';
import { type StreamOptions, webhookRoutes } from './routes/webhooks.routes.js';

/** Options for {@link buildApp}. */
export interface AppOptions {
  /** pino log level (`info` by default; tests use `silent`). */
  logLevel?: string;
  /** Live event stream intervals in ms (defaults: heartbeat 15 s, poll 250 ms). */
  stream?: StreamOptions;
  /** Largest accepted request body in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** The pay page's rate limit (requests per minute per address). */
  payPage?: { rateLimitPerMinute?: number };
  /** The per-key rate limit of the API and the dialects (src/http/rate-limit.ts); absent: none. */
  rateLimit?: RateLimitOptions;
  /** Fastify's `trustProxy` (`PAYREQ_TRUST_PROXY`, src/config.ts); absent: false, the socket's peer is the client. */
  trustProxy?: boolean | string[];
  /** The HTTP server's timeouts in ms (src/config.ts `connections`); absent: these defaults. */
  timeouts?: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number };
  /** Caps on live streams open at once in this process (src/config.ts `streamCaps`); absent: none. */
  streamCaps?: StreamCaps;
  /**
   * The dialects to serve, each with its settings (src/config.ts `dialects`, read from
   * src/dialects/index.ts `DIALECTS`), registered in this order; absent: none.
   */
  dialects?: readonly ConfiguredDialect[];
}

/** The defaults of {@link AppOptions.timeouts}, in ms: those of `PAYREQ_HEADERS_TIMEOUT_MS`, `PAYREQ_REQUEST_TIMEOUT_MS` and `PAYREQ_KEEP_ALIVE_TIMEOUT_MS`. */
export const DEFAULT_TIMEOUTS = { headersTimeoutMs: 20_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 72_000 } as const;

/**
 * Answers a refusal Fastify makes before it has a route (a path with a broken percent-escape:
 * `FST_ERR_BAD_URL`; a path parameter over `maxParamLength`: `FST_ERR_MAX_PARAM_LENGTH`) in the
 * format of the route family the path belongs to (`families`: prefix and sender), as that
 * family's own error handler would.
 */
function sendFrameworkError(families: readonly (readonly [string, ErrorSender])[], err: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  // The path, also of an absolute-form request target (`GET http://host/compat/… HTTP/1.1`, RFC 9112 §3.2.2), which the router serves too.
  const path = request.url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const send = families.find(([prefix]) => path.startsWith(prefix))?.[1] ?? sendError;
  return send(err, request, reply);
}

/** Payreq's own OpenAPI security schemes; the dialects add theirs. */
const SECURITY_SCHEMES: Readonly<Record<string, SecurityScheme>> = {
  bearer: { type: 'http', scheme: 'bearer', description: 'prq_test_… or prq_live_…' },
};

/**
 * {@link SECURITY_SCHEMES} with each dialect's, in the list's order; dialects may share a scheme.
 * @throws Error when two dialects give one scheme name different definitions.
 */
function securitySchemesOf(dialects: readonly ConfiguredDialect[]): Record<string, SecurityScheme> {
  const schemes: Record<string, SecurityScheme> = { ...SECURITY_SCHEMES };
  for (const { dialect } of dialects) {
    for (const [name, scheme] of Object.entries(dialect.securitySchemes ?? {})) {
      const known = schemes[name];
      if (known !== undefined && JSON.stringify(known) !== JSON.stringify(scheme)) throw new Error(`the ${dialect.name} dialect defines the OpenAPI security scheme ${name} differently`);
      schemes[name] = scheme;
    }
  }
  return schemes;
}

/**
 * The path of the first string (or key) holding U+0000 in `value`, or undefined. Iterative, and
 * each node links to its parent rather than carrying its path: a body may nest deeper than the
 * stack, and copying paths would cost the square of the depth.
 */
function nulPath(value: unknown): string | undefined {
  interface Node { value: unknown; key: string; parent: Node | undefined }
  const pathOf = (node: Node): string => {
    const keys: string[] = [];
    for (let n: Node | undefined = node; n?.parent !== undefined; n = n.parent) keys.push(n.key);
    return keys.reverse().join('.') || '(root)';
  };
  const stack: Node[] = [{ value, key: '', parent: undefined }];
  for (let node = stack.pop(); node !== undefined; node = stack.pop()) {
    if (typeof node.value === 'string') {
      if (node.value.includes('\u0000')) return pathOf(node);
    } else if (typeof node.value === 'object' && node.value !== null && !Buffer.isBuffer(node.value)) {
      for (const [key, child] of Object.entries(node.value)) {
        const next: Node = { value: child, key, parent: node };
        if (key.includes('\u0000')) return pathOf(next);
        stack.push(next);
      }
    }
  }
  return undefined;
}

interface ParserRefusal {
  code: ErrorCode;
  reason: string;
  detail: string;
}

/** What Node's HTTP parser refuses (its error codes: https://nodejs.org/api/errors.html), as problem documents. */
const PARSER_REFUSALS: Readonly<Record<string, ParserRefusal>> = {
  HPE_HEADER_OVERFLOW: { code: 'headers_too_large', reason: 'Request Header Fields Too Large', detail: 'the request line and headers are larger than 16 KiB' },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request_timeout', reason: 'Request Timeout', detail: 'the request did not arrive in time (PAYREQ_HEADERS_TIMEOUT_MS, PAYREQ_REQUEST_TIMEOUT_MS)' },
};
const NOT_HTTP: ParserRefusal = { code: 'malformed_json', reason: 'Bad Request', detail: 'the request is not valid HTTP' };

/** Builds the application. Call `ready()` (or `listen()`) before use. */
export async function buildApp(deps: Deps, options: AppOptions = {}): Promise<FastifyInstance> {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  const dialects = options.dialects ?? [];
  const families: (readonly [string, ErrorSender])[] = [...dialects.map(({ dialect }) => [`${dialect.prefix}/`, dialect.sendError] as const), ['/pay/', sendPayPageError]];
  // Node refuses a headers timeout longer than the request timeout; 0 is "none" for the latter.
  const headersTimeout = timeouts.requestTimeoutMs > 0 ? Math.min(timeouts.headersTimeoutMs, timeouts.requestTimeoutMs) : timeouts.headersTimeoutMs;
  const app = Fastify({
    trustProxy: options.trustProxy ?? false,
    // Node's timeouts (https://nodejs.org/api/http.html#serverheaderstimeout): the request line
    // and headers within `headersTimeout`, the whole request within `requestTimeout`, both checked
    // every `connectionsCheckingInterval`; a response being written (a live stream) is not cut.
    requestTimeout: timeouts.requestTimeoutMs,
    keepAliveTimeout: timeouts.keepAliveTimeoutMs,
    http: { headersTimeout, requestTimeout: timeouts.requestTimeoutMs, connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headersTimeout / 4))) },
    frameworkErrors: (err, request, reply) => void sendFrameworkError(families, err, request, reply).catch((failure: unknown) => request.log.error({ err: failure }, 'could not answer a refusal made before routing')),
    logger: { level: options.logLevel ?? 'info' },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : `req_${randomUUID()}`;
    },
    return503OnClosing: true,
    // Refused by the HTTP parser (or its timeouts) before any route: a problem document rather than Fastify's own shape.
    clientErrorHandler: (err, socket) => {
      if (!socket.writable) return socket.destroy(err);
      const refusal = PARSER_REFUSALS[(err as { code?: string }).code ?? ''] ?? NOT_HTTP;
      const body = JSON.stringify(problem(refusal.code, refusal.detail, 'none'));
      socket.end(`HTTP/1.1 ${STATUS_OF[refusal.code]} ${refusal.reason}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
    forceCloseConnections: 'idle',
  });
  recordRoutes(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('idempotency', undefined);
  app.decorateRequest('commitHold', undefined);
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  // Runs before every scope's error handler (the dialects' too), so each answer that asks for a
  // retry carries Retry-After in whatever format its body takes.
  app.addHook('onError', async (_request, reply, err) => {
    const wait = retryAfterOf(err);
    if (wait !== undefined) void reply.header('retry-after', String(wait));
  });
  app.setNotFoundHandler((request) => routeNotFound(request));
  // Once shutdown starts, answers close their connection, so that a keep-alive connection
  // whose request was in flight does not hold the shutdown open after it is answered.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  // No string may carry the NUL character: PostgreSQL's text refuses it and SQLite's truncates
  // at it. A preHandler, so that bodies parsed late (AlphaPo's, after its signature) are seen too;
  // each scope's error handler answers in its own format.
  app.addHook('preHandler', (request, _reply, done) => {
    // Nor may a body nest deeper than any route reads: a route without a body schema would
    // otherwise hand it on unbounded to code that walks it recursively (JSON.stringify).
    if (nestsDeeperThan(request.body, MAX_BODY_DEPTH)) {
      return done(new DomainError('validation_failed', `the body nests more than ${MAX_BODY_DEPTH} levels of objects and arrays`, { errors: [{ path: 'body', message: `nests more than ${MAX_BODY_DEPTH} levels` }] }));
    }
    const path = nulPath({ body: request.body, query: request.query, params: request.params });
    if (path !== undefined) return done(new DomainError('validation_failed', `${path} contains the NUL character`, { errors: [{ path, message: 'contains the NUL character' }] }));
    done();
  });
  app.addHook('onResponse', async (request, reply) => {
    deps.metrics.httpDuration.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('x-request-id', request.id);
    if (closing) void reply.header('connection', 'close');
    // An idempotent /v1 request commits in its own onSend hook, which has these points itself.
    if (request.idempotency === undefined) crashPoint(request, 'after-commit');
    // SQLite's durable mode: nothing is answered before what it wrote is on disk (group commit).
    await deps.store.durable();
    return payload;
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Payreq API',
        version: '1',
        description: 'Payment requests from creation to settlement. Amounts are decimal strings; errors are RFC 9457 problem documents.',
      },
      components: { securitySchemes: securitySchemesOf(dialects) },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', { schema: { hide: true } }, async (_request, reply) => {
    if (!(await deps.store.ping())) throw new DomainError('service_unavailable', 'the database is not reachable');
    return reply.send({ status: 'ok' });
  });
  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  // Operational counts only (no tenant data), in Prometheus' text format: scrape it from inside your network.
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics()));
  // One reader of events for every live stream of this process: /v1/events/stream and the pay page's.
  const stream = options.stream ?? { heartbeatMs: 15_000, pollIntervalMs: 250 };
  const feed = new EventFeed(deps, stream.pollIntervalMs, (err) => app.log.error({ err }, 'event feed read failed'));
  app.addHook('onClose', (_instance, done) => {
    feed.close();
    done();
  });
  // Counts of the live streams open in this process, against options.streamCaps.
  const caps: StreamCaps = options.streamCaps ?? { perKey: 0, perOrg: 0, perAddress: 0 };
  const slots = new StreamSlots();
  if (options.rateLimit) await registerRateLimit(app, options.rateLimit);
  await app.register(payPageRoutes, { deps, feed, slots, maxStreamsPerAddress: caps.perAddress, ...(options.payPage ?? {}) });

  await app.register(
    (v1, _opts, done) => {
      v1.addHook('onRequest', commitHoldHook(deps));
      v1.addHook('onRequest', authHook(deps));
      v1.addHook('preHandler', idempotencyPreHandler(deps));
      v1.addHook('onSend', idempotencyOnSend(deps));
      paymentRequestRoutes(v1, deps);
      partyRoutes(v1, deps);
      merchantRoutes(v1, deps);
      webhookRoutes(v1, deps, stream, feed, { slots, caps });
      done();
    },
    { prefix: '/v1' },
  );
  // Drop-in dialects: each provider's own paths, auth and error shapes, over the same use cases.
  for (const { dialect, settings } of dialects) {
    await app.register((scope, _opts, done) => dialect.routes(scope, { deps, settings }, done), { prefix: dialect.prefix });
  }
  return app;
}
