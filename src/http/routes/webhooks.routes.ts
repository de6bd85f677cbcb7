/** `/v1/webhook-endpoints` and `/v1/events` routes, including the Server-Sent Events stream. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../app/deps.js';
import { type EventFeed, openEventStream, type StreamCaps, type StreamSlots } from '../../app/event-stream.js';
import { presentEvent } from '../../app/present.js';
import {
  createEndpoint,
  deleteEndpointOf,
  getEndpoint,
  listEndpointDeliveries,
  listEndpointsOf,
  listOrgEvents,
  presentDelivery,
  presentEndpoint,
  redeliverEvent,
  rotateSecret,
  updateEndpointOf,
} from '../../app/webhook-endpoints.js';
import { fieldError } from '../../domain/errors.js';
import { EVENT_TYPES, type EventType } from '../../domain/payment-request.js';
import { principalOf } from '../auth.js';
import { idParams, listResponse, pageQuery } from '../../contract/v1/common.js';
import { eventResponse, eventsQuery, redeliverBody, streamQuery } from '../../contract/v1/events.js';
import { createEndpointBody, deliveryResponse, endpointResponse as endpointResponseOf, updateEndpointBody } from '../../contract/v1/webhook-endpoints.js';

const security = [{ bearer: [] }];
const tags = ['webhooks'];

function parseTypes(text: string | undefined, path: string): EventType[] | undefined {
  if (text === undefined || text === '') return undefined;
  const types = text.split(',').map((t) => t.trim());
  for (const type of types) if (!(EVENT_TYPES as readonly string[]).includes(type)) throw fieldError(path, `"${type}" is not an event type`);
  return types as EventType[];
}

/** Options for the live stream: heartbeat and database poll intervals in ms. */
export interface StreamOptions {
  heartbeatMs: number;
  pollIntervalMs: number;
}

/** The live streams' caps (src/config.ts `streamCaps`) and the process's count of them. */
export interface StreamLimits {
  slots: StreamSlots;
  caps: StreamCaps;
}

/**
 * Registers the webhook and event routes on a `/v1` scope; the live streams read through `feed`,
 * each taking a slot per key and per org from `limits` (429 `too_many_streams` past a cap).
 */
export function webhookRoutes(app: FastifyInstance, deps: Deps, stream: StreamOptions, feed: EventFeed, limits: StreamLimits): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const endpointResponse = endpointResponseOf(deps.webhookFormats.names);

  r.post('/webhook-endpoints', {
    schema: { tags, security, summary: 'Create a webhook endpoint (the secret is returned once)', body: createEndpointBody(deps.webhookFormats.names), response: { 201: endpointResponse } },
  }, async (request, reply) => {
    const { endpoint, secret } = await createEndpoint(deps, principalOf(request), request.body);
    return reply.code(201).send({ ...presentEndpoint(endpoint, deps.settings.publicUrl, deps.webhookFormats), secret });
  });

  r.get('/webhook-endpoints', {
    schema: { tags, security, summary: 'List webhook endpoints', response: { 200: listResponse(endpointResponse) } },
  }, async (request) => ({ object: 'list' as const, data: (await listEndpointsOf(deps, principalOf(request))).map((e) => presentEndpoint(e, deps.settings.publicUrl, deps.webhookFormats)), hasMore: false, nextCursor: null }));

  r.get('/webhook-endpoints/:id', {
    schema: { tags, security, summary: 'Get a webhook endpoint', params: idParams, response: { 200: endpointResponse } },
  }, async (request) => presentEndpoint(await getEndpoint(deps, principalOf(request), request.params.id), deps.settings.publicUrl, deps.webhookFormats));

  r.patch('/webhook-endpoints/:id', {
    schema: { tags, security, summary: 'Update a webhook endpoint (url, enabledEvents, description, disabled)', params: idParams, body: updateEndpointBody, response: { 200: endpointResponse } },
  }, async (request) => presentEndpoint(await updateEndpointOf(deps, principalOf(request), request.params.id, request.body), deps.settings.publicUrl, deps.webhookFormats));

  r.delete('/webhook-endpoints/:id', {
    schema: { tags, security, summary: 'Delete a webhook endpoint', params: idParams, response: { 200: endpointResponse } },
  }, async (request) => presentEndpoint(await deleteEndpointOf(deps, principalOf(request), request.params.id), deps.settings.publicUrl, deps.webhookFormats));

  r.post('/webhook-endpoints/:id/rotate-secret', {
    schema: { tags, security, summary: 'Rotate the signing secret; the old one keeps signing during the overlap', params: idParams, response: { 200: endpointResponse } },
  }, async (request) => {
    const { endpoint, secret } = await rotateSecret(deps, principalOf(request), request.params.id);
    return { ...presentEndpoint(endpoint, deps.settings.publicUrl, deps.webhookFormats), secret };
  });

  r.get('/webhook-endpoints/:id/deliveries', {
    schema: { tags, security, summary: 'An endpoint\'s deliveries, newest first, with every attempt', params: idParams, querystring: pageQuery, response: { 200: listResponse(deliveryResponse) } },
  }, async (request) => {
    const page = await listEndpointDeliveries(deps, principalOf(request), request.params.id, request.query);
    return { object: 'list' as const, data: page.data.map((d) => presentDelivery(d.delivery, d.attempts)), hasMore: page.hasMore, nextCursor: page.nextCursor };
  });

  r.get('/events', {
    schema: { tags: ['events'], security, summary: 'The org\'s events, oldest first, for backfill', querystring: eventsQuery, response: { 200: listResponse(eventResponse) } },
  }, async (request) => {
    const page = await listOrgEvents(deps, principalOf(request), { types: parseTypes(request.query.types, 'querystring.types'), after: request.query.after, limit: request.query.limit });
    return { object: 'list' as const, data: page.data.map(presentEvent), hasMore: page.hasMore, nextCursor: page.nextCursor };
  });

  r.post('/events/:id/redeliver', {
    schema: { tags: ['events'], security, summary: 'Send an event again, to one endpoint or all that take it', params: idParams, body: redeliverBody, response: { 202: listResponse(deliveryResponse) } },
  }, async (request, reply) => {
    const deliveries = await redeliverEvent(deps, principalOf(request), request.params.id, request.body?.endpointId);
    return reply.code(202).send({ object: 'list' as const, data: deliveries.map((d) => presentDelivery(d, [])), hasMore: false, nextCursor: null });
  });

  // Open streams, ended when the server closes so that shutdown is not held open by them. The
  // process's one feed reads the events for all of them (app/event-stream.ts).
  const open = new Set<() => void>();
  app.addHook('preClose', (done) => {
    for (const end of open) end();
    done();
  });

  r.get('/events/stream', {
    schema: {
      tags: ['events'],
      security,
      summary: 'Live events as Server-Sent Events',
      description: 'Each message has `id` (the event id; send it back as `Last-Event-ID` to resume), `event` (the type) and `data` (the event). A comment line is sent as a heartbeat.',
      querystring: streamQuery,
    },
  }, async (request, reply) => {
    const principal = principalOf(request);
    const lastEventId = request.headers['last-event-id'];
    const types = parseTypes(request.query.types, 'querystring.types');
    const raw = reply.raw;
    const write = (text: string): void => void raw.write(text);
    let started = false;
    const early: string[] = [];
    const release = limits.slots.take([
      [`key:${principal.keyId}`, limits.caps.perKey, 'per API key'],
      [`org:${principal.orgId}`, limits.caps.perOrg, 'per org'],
    ]);
    let close: () => void;
    try {
      close = await openEventStream(deps, feed, principal, { partyId: request.query.partyId, types }, typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined, (event) => {
        const frame = `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(presentEvent(event))}\n\n`;
        if (started) write(frame);
        else early.push(frame);
      });
    } catch (err) {
      release();
      throw err;
    }
    reply.hijack();
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no', 'x-request-id': request.id });
    write('retry: 2000\n: connected\n\n');
    started = true;
    for (const frame of early) write(frame);
    const heartbeat = setInterval(() => write(': heartbeat\n\n'), stream.heartbeatMs);
    const end = (): void => {
      clearInterval(heartbeat);
      close();
      release();
      open.delete(end);
      if (!raw.writableEnded) raw.end();
    };
    open.add(end);
    raw.on('close', end);
    // A client gone before the listener was on: its 'close' has been and gone, so end (and give the slot back) now.
    if (raw.destroyed || request.raw.socket.destroyed) end();
  });
}
