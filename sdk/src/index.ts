/**
 * `@payreq/sdk`: a typed client for Payreq's `/v1` API. The request and response types are
 * generated from the server's `/openapi.json` (`openapi.ts`, by openapi-typescript); calls go
 * through `openapi-fetch`. On top:
 *
 * - every `POST` gets an `Idempotency-Key` per logical call, reused on its retries;
 * - retries with exponential backoff (and `Retry-After`) on 429, 503 and connection errors;
 * - errors as {@link PayreqError}, carrying the RFC 9457 problem document;
 * - {@link verifyWebhook}: a Standard Webhooks signature check returning a typed event;
 * - `events.stream()`: the live stream as an async iterator that resumes with `Last-Event-ID`.
 */
import { randomUUID } from 'node:crypto';
import createFetchClient from 'openapi-fetch';
import { EventSourceParserStream } from 'eventsource-parser/stream';
import { Webhook } from 'standardwebhooks';
import type { paths } from './openapi.js';

export type { paths } from './openapi.js';

type Json<P extends keyof paths, M extends keyof paths[P], S extends number> = paths[P][M] extends { responses: Record<S, { content: { 'application/json': infer T } }> } ? T : never;
type Body<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { requestBody?: { content: { 'application/json': infer T } } } ? T : never;
type Query<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { parameters: { query?: infer Q } } ? NonNullable<Q> : never;

/** A payment request as the API returns it. */
export type PaymentRequest = Json<'/v1/payment-requests/{id}', 'get', 200>;
/** A payment (`payment.received`, `POST …/payments`). */
export type Payment = Omit<Json<'/v1/payment-requests/{id}/payments', 'post', 201>, 'paymentRequest'>;
/** A refund. */
export type Refund = Omit<Json<'/v1/payment-requests/{id}/refunds', 'post', 201>, 'paymentRequest'>;
/** A party, an account, an API key, a webhook endpoint, an event, as the API returns them. */
export type Party = Json<'/v1/parties/{id}', 'get', 200>;
export type Account = Json<'/v1/accounts/{id}', 'get', 200>;
export type ApiKey = Json<'/v1/api-keys', 'post', 201>;
export type WebhookEndpoint = Json<'/v1/webhook-endpoints/{id}', 'get', 200>;
export type Event = Json<'/v1/events', 'get', 200>['data'][number];

/** Every event type Payreq sends (a test checks this list against the server's). */
export const EVENT_TYPES = [
  'payment_request.created',
  'payment_request.processing',
  'payment_request.paid',
  'payment_request.failed',
  'payment_request.cancelled',
  'payment_request.declined',
  'payment_request.expired',
  'payment_request.refunded',
  'payment.received',
  'payment.reverted',
  'refund.created',
  'refund.completed',
  'webhook_endpoint.disabled',
] as const;
/** An event type. */
export type EventType = (typeof EVENT_TYPES)[number];

type RequestData = PaymentRequest & { sequence: number };
/**
 * A webhook's body (Standard Webhooks: `{type, timestamp, data}`), discriminated by `type`:
 * `data` is the payment request right after the change, with what the event adds.
 */
export type WebhookEvent =
  | { type: 'payment_request.created' | 'payment_request.processing' | 'payment_request.cancelled' | 'payment_request.declined' | 'payment_request.expired' | 'payment_request.refunded'; timestamp: string; data: RequestData }
  | { type: 'payment_request.paid'; timestamp: string; data: RequestData & { payment?: Payment } }
  | { type: 'payment_request.failed'; timestamp: string; data: RequestData & { reason: 'insufficient_funds' | 'currency_not_accepted' | 'account_closed' } }
  | { type: 'payment.received' | 'payment.reverted'; timestamp: string; data: RequestData & { payment: Payment; requiresRefund?: true } }
  | { type: 'refund.created' | 'refund.completed'; timestamp: string; data: RequestData & { refund: Refund } }
  | { type: 'webhook_endpoint.disabled'; timestamp: string; data: { webhookEndpoint: WebhookEndpoint; reason: 'gone' | 'failing'; sequence: number } };

/** An RFC 9457 problem document, as Payreq's errors are. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId?: string;
  errors?: { path: string; message: string }[];
  [extension: string]: unknown;
}

/** A refusal by the server (4xx, or a 5xx after the retries): `status` and the problem document. */
export class PayreqError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(`${status} ${problem.code}: ${problem.detail}`);
    this.name = 'PayreqError';
  }

  /** The problem's stable code (`invalid_transition`, `insufficient_funds`…; docs/errors.md). */
  get code(): string {
    return this.problem.code;
  }
}

/** The server could not be reached (after the retries). */
export class PayreqConnectionError extends Error {
  constructor(cause: unknown) {
    super(`cannot reach the Payreq server: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'PayreqConnectionError';
  }
}

/** Options for {@link createClient}. Durations in milliseconds. */
export interface ClientOptions {
  /** The server's base URL (`https://payreq.example.com`). */
  baseUrl: string;
  /** A `prq_test_…` or `prq_live_…` key. */
  apiKey: string;
  /** Retries after the first attempt on 429, 503 and connection errors (default 3). */
  maxRetries?: number;
  /** The first backoff; it doubles on each retry, with jitter (default 250). */
  retryBaseMs?: number;
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The `fetch` the client runs on: retries the same request (same `Idempotency-Key`) on 429, 503 and connection errors. */
function retryingFetch(options: ClientOptions): (request: Request) => Promise<Response> {
  const base = options.fetch ?? fetch;
  const maxRetries = options.maxRetries ?? 3;
  const baseMs = options.retryBaseMs ?? 250;
  const backoff = (attempt: number) => baseMs * 2 ** attempt * (0.75 + Math.random() * 0.5);
  return async (request) => {
    for (let attempt = 0; ; attempt++) {
      let response: Response;
      try {
        response = await base(request.clone());
      } catch (err) {
        if (attempt >= maxRetries) throw new PayreqConnectionError(err);
        await sleep(backoff(attempt));
        continue;
      }
      if ((response.status === 429 || response.status === 503) && attempt < maxRetries) {
        const after = Number(response.headers.get('retry-after'));
        await response.body?.cancel();
        await sleep(Number.isFinite(after) && after >= 0 && response.headers.has('retry-after') ? Math.min(after * 1000, 60_000) : backoff(attempt));
        continue;
      }
      return response;
    }
  };
}

async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok || error !== undefined) {
    const problem = (typeof error === 'object' && error !== null ? error : { type: 'about:blank', title: response.statusText, status: response.status, detail: typeof error === 'string' ? error : response.statusText, code: 'unknown' }) as Problem;
    throw new PayreqError(response.status, problem);
  }
  return data as T;
}

/**
 * A client for one key. Each method is one logical call: a `POST` carries a fresh
 * `Idempotency-Key` (or `idempotencyKey` when you pass one), the same on every retry.
 * @throws PayreqError when the server refuses; PayreqConnectionError when it cannot be reached.
 */
export function createClient(options: ClientOptions) {
  const doFetch = retryingFetch(options);
  const raw = createFetchClient<paths>({ baseUrl: options.baseUrl, headers: { authorization: `Bearer ${options.apiKey}` }, fetch: doFetch });
  const key = (given?: string) => ({ 'idempotency-key': given ?? randomUUID() });
  type Opt = { idempotencyKey?: string };

  return {
    /** The underlying openapi-fetch client, for any route (typed by path). */
    raw,
    paymentRequests: {
      create: (body: Body<'/v1/payment-requests', 'post'>, opt: Opt = {}) => unwrap(raw.POST('/v1/payment-requests', { body, headers: key(opt.idempotencyKey) })),
      get: (id: string) => unwrap(raw.GET('/v1/payment-requests/{id}', { params: { path: { id } } })),
      list: (query: Query<'/v1/payment-requests', 'get'> = {}) => unwrap(raw.GET('/v1/payment-requests', { params: { query } })),
      approve: (id: string, body: Body<'/v1/payment-requests/{id}/approve', 'post'>, opt: Opt = {}) =>
        unwrap(raw.POST('/v1/payment-requests/{id}/approve', { params: { path: { id } }, body, headers: key(opt.idempotencyKey) })),
      cancel: (id: string, opt: Opt = {}) => unwrap(raw.POST('/v1/payment-requests/{id}/cancel', { params: { path: { id } }, body: {}, headers: key(opt.idempotencyKey) })),
      decline: (id: string, opt: Opt = {}) => unwrap(raw.POST('/v1/payment-requests/{id}/decline', { params: { path: { id } }, body: {}, headers: key(opt.idempotencyKey) })),
      recordPayment: (id: string, body: Body<'/v1/payment-requests/{id}/payments', 'post'>, opt: Opt = {}) =>
        unwrap(raw.POST('/v1/payment-requests/{id}/payments', { params: { path: { id } }, body, headers: key(opt.idempotencyKey) })),
      refund: (id: string, body: Body<'/v1/payment-requests/{id}/refunds', 'post'>, opt: Opt = {}) =>
        unwrap(raw.POST('/v1/payment-requests/{id}/refunds', { params: { path: { id } }, body, headers: key(opt.idempotencyKey) })),
      events: (id: string) => unwrap(raw.GET('/v1/payment-requests/{id}/events', { params: { path: { id } } })),
    },
    parties: {
      create: (body: Body<'/v1/parties', 'post'>, opt: Opt = {}) => unwrap(raw.POST('/v1/parties', { body, headers: key(opt.idempotencyKey) })),
      get: (id: string) => unwrap(raw.GET('/v1/parties/{id}', { params: { path: { id } } })),
    },
    accounts: {
      create: (body: Body<'/v1/accounts', 'post'>, opt: Opt = {}) => unwrap(raw.POST('/v1/accounts', { body, headers: key(opt.idempotencyKey) })),
      get: (id: string) => unwrap(raw.GET('/v1/accounts/{id}', { params: { path: { id } } })),
      /** Test mode: credits an account from the system funding account. */
      fund: (id: string, amount: string, opt: Opt = {}) => unwrap(raw.POST('/v1/test-helpers/accounts/{id}/fund', { params: { path: { id } }, body: { amount }, headers: key(opt.idempotencyKey) })),
    },
    apiKeys: {
      create: (body: Body<'/v1/api-keys', 'post'>, opt: Opt = {}) => unwrap(raw.POST('/v1/api-keys', { body, headers: key(opt.idempotencyKey) })),
      list: (query: Query<'/v1/api-keys', 'get'> = {}) => unwrap(raw.GET('/v1/api-keys', { params: { query } })),
      /** Revokes a key at once; every server process stops accepting it within a second. */
      revoke: (id: string) => unwrap(raw.DELETE('/v1/api-keys/{id}', { params: { path: { id } } })),
    },
    webhookEndpoints: {
      create: (body: Body<'/v1/webhook-endpoints', 'post'>, opt: Opt = {}) => unwrap(raw.POST('/v1/webhook-endpoints', { body, headers: key(opt.idempotencyKey) })),
      list: () => unwrap(raw.GET('/v1/webhook-endpoints')),
    },
    events: {
      list: (query: Query<'/v1/events', 'get'> = {}) => unwrap(raw.GET('/v1/events', { params: { query } })),
      /**
       * The live stream (`GET /v1/events/stream`) as an async iterator of events. When the
       * connection drops it reconnects with `Last-Event-ID`, so no event is missed; it ends
       * when `signal` aborts (or the loop breaks).
       */
      stream: (query: { partyId?: string; types?: EventType[]; lastEventId?: string; signal?: AbortSignal } = {}) => streamEvents(options, query),
    },
  };
}

/** A client returned by {@link createClient}. */
export type PayreqClient = ReturnType<typeof createClient>;

async function* streamEvents(options: ClientOptions, query: { partyId?: string; types?: EventType[]; lastEventId?: string; signal?: AbortSignal }): AsyncGenerator<Event> {
  const url = new URL('/v1/events/stream', options.baseUrl);
  if (query.partyId !== undefined) url.searchParams.set('partyId', query.partyId);
  if (query.types !== undefined) url.searchParams.set('types', query.types.join(','));
  let lastEventId = query.lastEventId;
  let failures = 0;
  const base = options.fetch ?? fetch;
  while (!query.signal?.aborted) {
    let response: Response;
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}`, accept: 'text/event-stream' };
      if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
      response = await base(url, { headers, ...(query.signal ? { signal: query.signal } : {}) });
    } catch (err) {
      if (query.signal?.aborted) return;
      if (++failures > (options.maxRetries ?? 3)) throw new PayreqConnectionError(err);
      await sleep((options.retryBaseMs ?? 250) * 2 ** failures);
      continue;
    }
    if (!response.ok || !response.body) {
      const problem = (await response.json().catch(() => ({ code: 'unknown', detail: response.statusText }))) as Problem;
      throw new PayreqError(response.status, problem);
    }
    failures = 0;
    const messages = response.body.pipeThrough(new TextDecoderStream()).pipeThrough(new EventSourceParserStream());
    try {
      for await (const message of messages) {
        if (message.id !== undefined) lastEventId = message.id;
        yield JSON.parse(message.data) as Event;
      }
    } catch (err) {
      if (query.signal?.aborted) return;
      if (++failures > (options.maxRetries ?? 3)) throw new PayreqConnectionError(err);
    }
    // The stream ended or broke: reconnect from the last event seen.
  }
}

/**
 * Verifies a webhook with the endpoint's secret (`whsec_…`, Standard Webhooks: `webhook-id`,
 * `webhook-timestamp`, `webhook-signature`, a five-minute tolerance) and returns its typed body.
 * Pass the raw body exactly as received, before any JSON parsing.
 * @throws Error (standardwebhooks' `WebhookVerificationError`) when the signature or timestamp does not verify.
 */
export function verifyWebhook(rawBody: string, headers: Headers | Record<string, string | string[] | undefined>, secret: string): WebhookEvent {
  const get = (name: string): string => {
    if (headers instanceof Headers) return headers.get(name) ?? '';
    const value = headers[name] ?? headers[name.toLowerCase()];
    return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
  };
  return new Webhook(secret).verify(rawBody, { 'webhook-id': get('webhook-id'), 'webhook-timestamp': get('webhook-timestamp'), 'webhook-signature': get('webhook-signature') }) as WebhookEvent;
}
