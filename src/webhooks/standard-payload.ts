/** The Standard Webhooks body of an event, in a module of its own (the CLI's `webhooks listen` renders it without loading the providers' formats). */
import type { StoredEvent } from '../domain/entities.js';

/**
 * The body of a Standard Webhooks message (`{type, timestamp, data}`): for a payment-request
 * event `data` is the request as the API returned it right after the change, with the event's
 * `sequence`, and with `payment`, `refund` or `reason` when the event carries one. The dialects'
 * own data (`dialectData`, docs/api.md "Metadata") is never part of it.
 */
export function standardPayload(event: Pick<StoredEvent, 'type' | 'data' | 'sequence' | 'createdAt'>): string {
  // The dialects' own data rides on stored events for their formats only: never in this body.
  const { paymentRequest, dialectData: _dialectData, ...extras } = event.data;
  const base = typeof paymentRequest === 'object' && paymentRequest !== null ? { ...(paymentRequest as Record<string, unknown>), ...extras } : { ...extras };
  return JSON.stringify({ type: event.type, timestamp: new Date(event.createdAt).toISOString(), data: { ...base, sequence: event.sequence } });
}
