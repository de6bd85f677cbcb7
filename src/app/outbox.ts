/**
 * The transactional outbox (DESIGN.md §5): events are written in the same transaction as the
 * change they record, and so are their deliveries, one per enabled webhook endpoint whose
 * filter matches. A committed event therefore always has its deliveries, whatever happens to
 * the process afterwards; dispatchers in any process pick them up.
 */
import { newId } from '../domain/ids.js';
import { insertEvents, type StoredEvent } from '../db/event.repository.js';
import type { Tx } from '../db/store.js';
import { insertDeliveries, listEndpoints, type WebhookDelivery, type WebhookEndpoint } from '../db/webhook.repository.js';

/** True when an endpoint's filter takes this event type (`*` takes all). */
export function endpointWants(endpoint: Pick<WebhookEndpoint, 'enabledEvents'>, type: string): boolean {
  return endpoint.enabledEvents.includes('*') || endpoint.enabledEvents.includes(type);
}

/** A pending delivery of `event` to `endpointId`, due at `now`. */
export function newDelivery(event: Pick<StoredEvent, 'id' | 'orgId' | 'mode'>, endpointId: string, now: number): WebhookDelivery {
  return {
    id: newId(),
    orgId: event.orgId,
    mode: event.mode,
    eventId: event.id,
    endpointId,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: now,
    lastStatusCode: null,
    lastError: null,
    deliveredAt: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** Writes `events` and a delivery for each matching enabled endpoint of their org and mode. */
export async function recordEvents(tx: Tx, events: StoredEvent[], now: number): Promise<void> {
  if (events.length === 0) return;
  await insertEvents(tx, events);
  const groups = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const key = `${e.orgId}\u0000${e.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const deliveries: WebhookDelivery[] = [];
  for (const group of groups.values()) {
    const first = group[0] as StoredEvent;
    const endpoints = await listEndpoints(tx, first.orgId, first.mode, true);
    for (const event of group) {
      for (const endpoint of endpoints) if (endpointWants(endpoint, event.type)) deliveries.push(newDelivery(event, endpoint.id, now));
    }
  }
  await insertDeliveries(tx, deliveries);
}

/**
 * The body of a webhook (Standard Webhooks' `{type, timestamp, data}`): for a payment-request
 * event `data` is the request as the API returned it right after the change, with the event's
 * `sequence`, and with `payment`, `refund` or `reason` when the event carries one.
 */
export function webhookPayload(event: StoredEvent): string {
  const { paymentRequest, ...extras } = event.data;
  const base = typeof paymentRequest === 'object' && paymentRequest !== null ? { ...(paymentRequest as Record<string, unknown>), ...extras } : { ...event.data };
  return JSON.stringify({ type: event.type, timestamp: new Date(event.createdAt).toISOString(), data: { ...base, sequence: event.sequence } });
}
