/**
 * `buildApp(deps)` assembles the Fastify application and never listens (`server.ts` does).
 * Routes: `/v1/*` (bearer auth, idempotency keys), `/compat/request-network/*`,
 * `/compat/pismo/*`, `/compat/deltapay/*`, `/compat/centrapay/*` and `/compat/alphapo/*` (the dialects), `/healthz`, `/metrics`, `/openapi.json`, `/docs`, `/pay/:code`.
 */
import { randomUUID } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Deps } from '../app/deps.js';
import { EventFeed } from '../app/event-stream.js';
import { DomainError } from '../domain/errors.js';
import { alphapoRoutes } from '../dialects/alphapo/routes.js';
import { centrapayRoutes } from '../dialects/centrapay/routes.js';
import { deltapayRoutes } from '../dialects/deltapay/routes.js';
import { pismoRoutes } from '../dialects/pismo/routes.js';
import { requestNetworkRoutes } from '../dialects/request-network/routes.js';
import { authHook } from './auth.js';
import { routeNotFound, sendError } from './errors.js';
import { crashPoint } from './crash-points.js';
import { commitHoldHook, idempotencyOnSend, idempotencyPreHandler } from './idempotency.js';
import { payPageRoutes } from './pay-page.js';
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
}

/** Builds the application. Call `ready()` (or `listen()`) before use. */
export async function buildApp(deps: Deps, options: AppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: options.logLevel ?? 'info' },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._-]{1,64}$/.test(given) ? given : `req_${randomUUID()}`;
    },
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', undefined);
  app.decorateRequest('idempotency', undefined);
  app.decorateRequest('commitHold', undefined);
  app.setErrorHandler((err, request, reply) => sendError(err, request, reply));
  app.setNotFoundHandler((request) => routeNotFound(request));
  // Once shutdown starts, answers close their connection, so that a keep-alive connection
  // whose request was in flight does not hold the shutdown open after it is answered.
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
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
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'prq_test_… or prq_live_…' },
          apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A Payreq API key, on the Request Network, DeltaPay and Centrapay dialects' },
          processingKey: { type: 'apiKey', in: 'header', name: 'x-processing-key', description: 'A Payreq API key with a signing secret, on the AlphaPo dialect (with X-Processing-Signature)' },
        },
      },
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
  await app.register(payPageRoutes, { deps, feed, ...(options.payPage ?? {}) });

  await app.register(
    (v1, _opts, done) => {
      v1.addHook('onRequest', commitHoldHook(deps));
      v1.addHook('onRequest', authHook(deps));
      v1.addHook('preHandler', idempotencyPreHandler(deps));
      v1.addHook('onSend', idempotencyOnSend(deps));
      paymentRequestRoutes(v1, deps);
      partyRoutes(v1, deps);
      merchantRoutes(v1, deps);
      webhookRoutes(v1, deps, stream, feed);
      done();
    },
    { prefix: '/v1' },
  );
  // Drop-in dialects: each provider's own paths, auth and error shapes, over the same use cases.
  await app.register(requestNetworkRoutes, { prefix: '/compat/request-network', deps });
  await app.register(pismoRoutes, { prefix: '/compat/pismo', deps });
  await app.register(deltapayRoutes, { prefix: '/compat/deltapay', deps });
  await app.register(centrapayRoutes, { prefix: '/compat/centrapay', deps });
  await app.register(alphapoRoutes, { prefix: '/compat/alphapo', deps });
  return app;
}
