/**
 * Webhook endpoints and what they received: create (the secret is shown once), list, read,
 * update, delete, rotate the secret, list deliveries with their attempts, redeliver an event,
 * and the org-wide event log for backfill. Managing endpoints needs `webhooks:manage`
 * generally; reading the event log needs a general payment-request read (or `admin`).
 */
import type { DeliveryJson, EndpointJson } from '../contract/v1/webhook-endpoints.js';
import type { StoredEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../domain/entities.js';
import { DomainError, fieldError } from '../domain/errors.js';
import { allowsGenerally, paymentRequestVisibility } from '../domain/grants.js';
import { isUuid, newId } from '../domain/ids.js';
import { EVENT_TYPES, type EventType } from '../domain/payment-request.js';
import { findAccount } from '../db/account.repository.js';
import { findEventById, listEventsInOrder } from '../db/event.repository.js';
import {
  deleteEndpoint,
  findEndpoint,
  insertDeliveries,
  insertEndpoint,
  listAttempts,
  listDeliveries,
  listEndpoints,
  openSigningSecrets,
  findSealedSigningSecrets,
  type SealedSigningSecrets,
  updateEndpoint,
} from '../db/webhook.repository.js';
import type { WebhookFormats } from '../webhooks/formats.js';
import { checkUrl, policyFor } from '../webhooks/url-guard.js';
import type { Deps, Principal } from './deps.js';
import { endpointWants, newDelivery } from './outbox.js';
import { type Page, toPage } from './pagination.js';

/**
 * The endpoint as the API returns it: never the secret, except once at creation or rotation.
 * Given the server's `publicUrl` and its `formats`, an endpoint also carries what its format adds
 * (`WebhookFormatModule.endpointFields`): a `centrapay` endpoint what its receiver pins to verify
 * notifications, its own JWKS URL, the JWT's `iss` and `sub` (docs/dialects/centrapay.md).
 */
export function presentEndpoint(e: WebhookEndpoint, publicUrl?: string, formats?: WebhookFormats): EndpointJson {
  return {
    id: e.id,
    object: 'webhook_endpoint' as const,
    mode: e.mode,
    url: e.url,
    description: e.description,
    enabledEvents: e.enabledEvents,
    format: e.format,
    accountId: e.accountId,
    disabled: e.disabled,
    disabledReason: e.disabledReason,
    failingSince: e.failingSince === null ? null : new Date(e.failingSince).toISOString(),
    createdAt: new Date(e.createdAt).toISOString(),
    updatedAt: new Date(e.updatedAt).toISOString(),
    ...(publicUrl !== undefined ? formats?.get(e.format).endpointFields?.(e, publicUrl) : {}),
  };
}

/** A delivery as the API returns it, with its attempts. */
export function presentDelivery(d: WebhookDelivery, attempts: WebhookAttempt[]): DeliveryJson {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    id: d.id,
    object: 'webhook_delivery' as const,
    eventId: d.eventId,
    endpointId: d.endpointId,
    status: d.status,
    attempts: attempts.map((a) => ({ attempt: a.attempt, statusCode: a.statusCode, durationMs: a.durationMs, error: a.error, responseBody: a.responseBody, createdAt: new Date(a.createdAt).toISOString() })),
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    lastStatusCode: d.lastStatusCode,
    lastError: d.lastError,
    deliveredAt: iso(d.deliveredAt),
    createdAt: new Date(d.createdAt).toISOString(),
  };
}

function requireManage(principal: Principal): void {
  if (!allowsGenerally(principal.grants, 'webhooks:manage')) throw new DomainError('forbidden', 'this API key may not manage webhook endpoints (needs webhooks:manage)');
}

function validateEvents(events: readonly string[]): string[] {
  for (const [i, type] of events.entries()) {
    if (type !== '*' && !(EVENT_TYPES as readonly string[]).includes(type)) throw fieldError(`enabledEvents.${i}`, `"${type}" is not an event type (or "*")`);
  }
  return [...new Set(events)];
}

async function validateUrl(deps: Deps, principal: Principal, url: string): Promise<void> {
  const refused = await checkUrl(url, policyFor(principal.mode, deps.settings.webhooks), deps.resolver);
  if (refused) throw fieldError('url', `url ${refused}`);
}

async function getEndpointOrThrow(deps: Deps, principal: Principal, id: string): Promise<WebhookEndpoint> {
  const endpoint = isUuid(id) ? await findEndpoint(deps.store, principal.orgId, principal.mode, id) : undefined;
  if (!endpoint) throw new DomainError('webhook_endpoint_not_found', `webhook endpoint ${id} does not exist`);
  return endpoint;
}

/** Input for {@link createEndpoint}. */
export interface EndpointInput {
  url: string;
  enabledEvents?: string[] | undefined;
  description?: string | undefined;
  disabled?: boolean | undefined;
  /** `standard` (default) or a provider's format such as `request-network`; fixed at creation. */
  format?: string | undefined;
  /** Only events of payment requests into this account (it must be visible to the key); fixed at creation. */
  accountId?: string | undefined;
}

/**
 * Creates an endpoint with a new `whsec_` secret (returned once).
 * @throws DomainError `forbidden`, `validation_failed` (an unsafe URL in live mode, an unknown event type).
 */
export async function createEndpoint(deps: Deps, principal: Principal, input: EndpointInput): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  requireManage(principal);
  await validateUrl(deps, principal, input.url);
  if (input.accountId !== undefined && !(isUuid(input.accountId) && (await findAccount(deps.store, principal.orgId, principal.mode, input.accountId))?.systemPurpose === null)) {
    throw fieldError('accountId', `account ${input.accountId} does not exist`, 'account_not_found');
  }
  const now = deps.clock();
  const endpoint: WebhookEndpoint = {
    id: newId(),
    orgId: principal.orgId,
    mode: principal.mode,
    url: input.url,
    description: input.description ?? null,
    enabledEvents: validateEvents(input.enabledEvents ?? ['*']),
    disabled: input.disabled ?? false,
    disabledReason: input.disabled ? 'manual' : null,
    format: input.format ?? 'standard',
    accountId: input.accountId ?? null,
    secret: deps.webhookFormats.get(input.format ?? 'standard').newSecret(),
    previousSecret: null,
    previousSecretUntil: null,
    failingSince: null,
    createdAt: now,
    updatedAt: now,
  };
  // In a transaction, so that an idempotent request holds it and commits it with its stored answer (src/http/idempotency.ts).
  await deps.store.transaction((tx) => insertEndpoint(tx, endpoint));
  return { endpoint, secret: endpoint.secret };
}

/** The org's endpoints, newest first. @throws DomainError `forbidden`. */
export async function listEndpointsOf(deps: Deps, principal: Principal): Promise<WebhookEndpoint[]> {
  requireManage(principal);
  return listEndpoints(deps.store, principal.orgId, principal.mode);
}

/** One endpoint. @throws DomainError `forbidden`, `webhook_endpoint_not_found`. */
export async function getEndpoint(deps: Deps, principal: Principal, id: string): Promise<WebhookEndpoint> {
  requireManage(principal);
  return getEndpointOrThrow(deps, principal, id);
}

/**
 * Updates `url`, `enabledEvents`, `description` or `disabled`. Enabling an endpoint clears
 * its failing streak; its pending deliveries resume.
 * @throws DomainError `forbidden`, `webhook_endpoint_not_found`, `validation_failed`.
 */
export async function updateEndpointOf(deps: Deps, principal: Principal, id: string, input: Partial<EndpointInput>): Promise<WebhookEndpoint> {
  requireManage(principal);
  const endpoint = await getEndpointOrThrow(deps, principal, id);
  if (input.url !== undefined) await validateUrl(deps, principal, input.url);
  const now = deps.clock();
  const next: WebhookEndpoint = { ...endpoint, updatedAt: now };
  if (input.url !== undefined) next.url = input.url;
  if (input.enabledEvents !== undefined) next.enabledEvents = validateEvents(input.enabledEvents);
  if (input.description !== undefined) next.description = input.description;
  if (input.disabled !== undefined && input.disabled !== endpoint.disabled) {
    next.disabled = input.disabled;
    next.disabledReason = input.disabled ? 'manual' : null;
    if (!input.disabled) next.failingSince = null;
  }
  await updateEndpoint(deps.store, next);
  return next;
}

/** Deletes an endpoint: nothing more is sent to it. @throws DomainError `forbidden`, `webhook_endpoint_not_found`. */
export async function deleteEndpointOf(deps: Deps, principal: Principal, id: string): Promise<WebhookEndpoint> {
  requireManage(principal);
  const endpoint = await getEndpointOrThrow(deps, principal, id);
  await deleteEndpoint(deps.store, endpoint.id, deps.clock());
  return endpoint;
}

/**
 * Rotates the secret: a new one signs from now on, and the old one keeps signing too (both
 * signatures, space-separated) for `secretOverlapSeconds`, so receivers can switch without
 * losing a message.
 * @returns the endpoint and its new secret (shown once).
 * @throws DomainError `forbidden`, `webhook_endpoint_not_found`.
 */
export async function rotateSecret(deps: Deps, principal: Principal, id: string): Promise<{ endpoint: WebhookEndpoint; secret: string }> {
  requireManage(principal);
  const endpoint = await getEndpointOrThrow(deps, principal, id);
  const now = deps.clock();
  const next: WebhookEndpoint = {
    ...endpoint,
    secret: deps.webhookFormats.get(endpoint.format).newSecret(),
    previousSecret: endpoint.secret,
    previousSecretUntil: now + deps.settings.webhooks.secretOverlapSeconds * 1000,
    updatedAt: now,
  };
  // In a transaction, so that an idempotent request holds it and commits it with its stored answer (src/http/idempotency.ts).
  await deps.store.transaction((tx) => updateEndpoint(tx, next));
  return { endpoint: next, secret: next.secret };
}

/** An endpoint's deliveries, newest first, with their attempts. @throws DomainError `forbidden`, `webhook_endpoint_not_found`, `invalid_cursor`. */
export async function listEndpointDeliveries(deps: Deps, principal: Principal, id: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<{ delivery: WebhookDelivery; attempts: WebhookAttempt[] }>> {
  requireManage(principal);
  const endpoint = await getEndpointOrThrow(deps, principal, id);
  if (page.cursor !== undefined && !isUuid(page.cursor)) throw fieldError('cursor', 'cursor must be a nextCursor from an earlier page', 'invalid_cursor');
  const rows = await listDeliveries(deps.store, endpoint.id, page);
  const attempts = await listAttempts(deps.store, rows.slice(0, page.limit).map((d) => d.id));
  return toPage(rows, page.limit, (delivery) => ({ delivery, attempts: attempts.filter((a) => a.deliveryId === delivery.id) }));
}

/**
 * Sends an event again, to one endpoint or to every enabled endpoint that takes its type: new
 * deliveries, due now, with the same `webhook-id` (the event id) so receivers can deduplicate.
 * @throws DomainError `forbidden`, `event_not_found`, `webhook_endpoint_not_found`.
 */
export async function redeliverEvent(deps: Deps, principal: Principal, eventId: string, endpointId?: string): Promise<WebhookDelivery[]> {
  requireManage(principal);
  const event = isUuid(eventId) ? await findEventById(deps.store, eventId) : undefined;
  if (!event || event.orgId !== principal.orgId || event.mode !== principal.mode) throw new DomainError('event_not_found', `event ${eventId} does not exist`);
  const endpoints = endpointId !== undefined ? [await getEndpointOrThrow(deps, principal, endpointId)] : (await listEndpoints(deps.store, principal.orgId, principal.mode, true)).filter((e) => endpointWants(deps.webhookFormats, e, event));
  const now = deps.clock();
  const deliveries = endpoints.map((e) => newDelivery(event, e.id, now));
  await deps.store.transaction(async (tx) => {
    await insertDeliveries(tx, deliveries);
    // The dispatchers of this process wake on committed events; a redelivery is news too.
    tx.written.events = true;
  });
  return deliveries;
}

/**
 * The org-wide event log for backfill, oldest first: events after the `after` event id (by
 * time, then id), optionally of some types, at most `limit`. Needs a general read grant.
 * @throws DomainError `forbidden`, `invalid_cursor`.
 */
export async function listOrgEvents(deps: Deps, principal: Principal, query: { types?: EventType[] | undefined; after?: string | undefined; limit: number }): Promise<Page<StoredEvent>> {
  if (paymentRequestVisibility(principal.grants) !== 'all' && !allowsGenerally(principal.grants, 'webhooks:manage')) {
    throw new DomainError('forbidden', 'reading the event log needs a general payment_requests:read grant');
  }
  let after: StoredEvent | undefined;
  if (query.after !== undefined) {
    after = isUuid(query.after) ? await findEventById(deps.store, query.after) : undefined;
    if (!after || after.orgId !== principal.orgId || after.mode !== principal.mode) throw fieldError('after', 'after must be the id of an event', 'invalid_cursor');
  }
  const events = await listEventsInOrder(deps.store, principal.orgId, principal.mode, { after, types: query.types, limit: query.limit + 1 });
  return toPage(events, query.limit);
}

/**
 * One endpoint's signing secrets, still sealed, by id in any org and mode, with its format and
 * whether it is disabled or deleted: the cheap read a cache of derived keys makes on every use
 * (Centrapay's per-endpoint JWKS) to learn whether what it derived is still current. Never
 * answer these to a caller.
 */
export function findSealedSigningSecretsOf(deps: Deps, id: string): Promise<SealedSigningSecrets | undefined> {
  return isUuid(id) ? findSealedSigningSecrets(deps.store, id) : Promise.resolve(undefined);
}

/**
 * Opens sealed signing secrets: for a format whose secrets are private keys, so that their
 * public halves can be published. Never answer these to a caller.
 * @throws Error when a secret is sealed under a master key this server does not hold.
 */
export function openSigningSecretsOf(deps: Deps, sealed: SealedSigningSecrets): { current: string; previous: { secret: string; until: number } | null } {
  return openSigningSecrets(deps.store, sealed);
}
