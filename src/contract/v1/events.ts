/**
 * `/v1/events`: the event as returned (its `data` the payment request after the change), the list
 * and stream queries and the redeliver request. Times are RFC 3339 strings.
 */
import { z } from 'zod';
import { EVENT_TYPES } from '../../domain/payment-request.js';

/** An event as returned. */
export const eventResponse = z.object({
  id: z.string(),
  object: z.literal('event'),
  type: z.enum(EVENT_TYPES),
  sequence: z.number().int(),
  paymentRequestId: z.string().nullable(),
  createdAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});

/** `GET /v1/events` query. */
export const eventsQuery = z.strictObject({
  types: z.string().max(2000).optional().describe('Comma-separated event types'),
  after: z.string().max(64).optional().describe('An event id: list the events after it'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** `GET /v1/events/stream` query. */
export const streamQuery = z.strictObject({
  partyId: z.string().max(64).optional().describe('Only events of payment requests this party pays or is paid by'),
  types: z.string().max(2000).optional().describe('Comma-separated event types'),
});

/** `POST /v1/events/{id}/redeliver` body. */
export const redeliverBody = z.strictObject({ endpointId: z.string().max(64).optional().describe('One endpoint; all matching enabled ones when absent') }).nullish();

/** The JSON of an event. */
export type EventJson = z.input<typeof eventResponse>;
