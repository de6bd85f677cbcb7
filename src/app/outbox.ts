/**
 * The transactional outbox (docs/webhooks.md): events are written in the same transaction as the
 * change they record, and so are their deliveries, one per enabled webhook endpoint whose
 * filter matches. A committed event therefore always has its deliveries, whatever happens to
 * the process afterwards; dispatchers in any process pick them up.
 */
import type { StoredEvent, WebhookDelivery, WebhookEndpoint } from '../domain/entities.js';
import { newId } from '../domain/ids.js';
import { insertEventsReadingEndpoints } from '../db/event.repository.js';
import type { Tx } from '../db/store.js';
import { insertDeliveries } from '../db/webhook.repository.js';
import type { WebhookFormats } from '../webhooks/formats.js';

/**
 * True when an endpoint takes this event: its format carries it, its account scope (if any) is
 * the request's payee account, and its filter names the type (`*` takes all). `formats` is the
 * server's registry (`Deps.webhookFormats`).
 */
export function endpointWants(formats: WebhookFormats, endpoint: Pick<WebhookEndpoint, 'enabledEvents' | 'format' | 'accountId'>, event: Pick<StoredEvent, 'type' | 'data'>): boolean {
  if (!formats.get(endpoint.format).carries(event)) return false;
  if (endpoint.accountId !== null) {
    const payee = (event.data['paymentRequest'] as { payee?: { accountId?: string } } | undefined)?.payee;
    if (payee?.accountId !== endpoint.accountId) return false;
  }
  return endpoint.enabledEvents.includes('*') || endpoint.enabledEvents.includes(event.type);
}

/** A pending delivery of `event` to `endpointId`, due at `now`. */
export function newDelivery(event: Pick<StoredEvent, 'id' | 'orgId' | 'mode' | 'paymentRequestId' | 'sequence'>, endpointId: string, now: number): WebhookDelivery {
  return {
    id: newId(),
    orgId: event.orgId,
    mode: event.mode,
    eventId: event.id,
    endpointId,
    paymentRequestId: event.paymentRequestId,
    sequence: event.paymentRequestId === null ? null : event.sequence,
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

/**
 * Writes `events` and a delivery for each matching enabled endpoint of their org and mode: per
 * org and mode, the events are inserted and the endpoints read together (one statement on
 * PostgreSQL), then the deliveries inserted, when any endpoint wants an event. `formats` (the
 * server's `Deps.webhookFormats`) says which events each endpoint's format carries.
 */
export async function recordEvents(tx: Tx, events: StoredEvent[], now: number, formats: WebhookFormats): Promise<void> {
  if (events.length === 0) return;
  const groups = new Map<string, StoredEvent[]>();
  for (const e of events) {
    const key = `${e.orgId}\u0000${e.mode}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const deliveries: WebhookDelivery[] = [];
  for (const group of groups.values()) {
    const first = group[0] as StoredEvent;
    const enabled = await insertEventsReadingEndpoints(tx, group, first.orgId, first.mode);
    for (const event of group) {
      for (const endpoint of enabled) if (endpointWants(formats, endpoint, event)) deliveries.push(newDelivery(event, endpoint.id, now));
    }
  }
  await insertDeliveries(tx, deliveries);
}
