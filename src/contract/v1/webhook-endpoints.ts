/**
 * `/v1/webhook-endpoints`: an endpoint's create and update requests, the endpoint and its
 * deliveries as returned. The `format` enum is built from the server's webhook format names
 * (`standard` first), which the composition root knows and this contract does not. Times are
 * RFC 3339 strings.
 */
import { z } from 'zod';
import { nullableString, uuid } from './common.js';

const eventTypeOrStar = z.string().min(1).max(64);

const endpointFields = {
  url: z.url({ error: 'must be an absolute URL' }).max(2048),
  enabledEvents: z.array(eventTypeOrStar).min(1).max(50).optional().describe('Event types, or ["*"] (the default) for all'),
  description: z.string().max(255).optional(),
  disabled: z.boolean().optional(),
};

/**
 * `POST /v1/webhook-endpoints` body; `formats` are the server's webhook format names, `standard`
 * first (`Deps.webhookFormats.names`).
 */
export function createEndpointBody(formats: readonly [string, ...string[]]) {
  return z.strictObject({
    ...endpointFields,
    format: z.enum(formats).optional().describe(`standard (Standard Webhooks, the default) or a provider's own: ${formats.slice(1).join(', ')}`),
    accountId: uuid.optional().describe('Only events of payment requests into this account'),
  });
}

/** `PATCH /v1/webhook-endpoints/{id}` body (the format is fixed at creation: its secret has the format's shape). */
export const updateEndpointBody = z.strictObject(endpointFields).partial();

/** A webhook endpoint as returned; `secret` only at creation and rotation. `formats` as for {@link createEndpointBody}. */
export function endpointResponse(formats: readonly [string, ...string[]]) {
  return z.object({
    id: z.string(),
    object: z.literal('webhook_endpoint'),
    mode: z.enum(['live', 'test']),
    url: z.string(),
    description: nullableString,
    enabledEvents: z.array(z.string()),
    format: z.enum(formats),
    accountId: nullableString,
    disabled: z.boolean(),
    disabledReason: nullableString,
    failingSince: nullableString,
    createdAt: z.string(),
    updatedAt: z.string(),
    centrapay: z.object({ jwksUrl: z.string(), issuer: z.string(), subject: z.string() }).optional()
      .describe('centrapay format only: what the receiver pins to verify notifications, the endpoint\'s own key set and the iss and sub of its JWTs (docs/dialects/centrapay.md)'),
    secret: z.string().optional().describe('whsec_… (standard) or 64 hex characters (request-network), shown once at creation and at rotation'),
  });
}

/** The JSON of a webhook endpoint (`secret` only at creation and rotation). */
export type EndpointJson = z.input<ReturnType<typeof endpointResponse>>;

/** A delivery as returned, with its attempts. */
export const deliveryResponse = z.object({
  id: z.string(),
  object: z.literal('webhook_delivery'),
  eventId: z.string(),
  endpointId: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.array(z.object({ attempt: z.number().int(), statusCode: z.number().int().nullable(), durationMs: z.number().int(), error: nullableString, responseBody: nullableString, createdAt: z.string() })),
  nextAttemptAt: nullableString,
  lastStatusCode: z.number().int().nullable(),
  lastError: nullableString,
  deliveredAt: nullableString,
  createdAt: z.string(),
});

/** The JSON of a delivery with its attempts. */
export type DeliveryJson = z.input<typeof deliveryResponse>;
