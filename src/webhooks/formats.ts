/**
 * Webhook formats (docs/webhooks.md): one outbox, one retry schedule, one delivery log; an
 * endpoint's `format` picks which events it takes, how each is rendered and signed, and the
 * shape of its secret. A provider's format is a small module beside its dialect.
 */
import type { CurrencyRegistry } from '../domain/currency.js';
import type { StoredEvent } from '../db/event.repository.js';
import { alphapoFormat } from '../dialects/alphapo/webhook-format.js';
import { centrapayFormat } from '../dialects/centrapay/webhook-format.js';
import { deltapayFormat } from '../dialects/deltapay/webhook-format.js';
import { requestNetworkFormat } from '../dialects/request-network/webhook-format.js';
import { generateWebhookSecret, signWebhook } from './signing.js';
import { standardPayload } from './standard-payload.js';

/** Every webhook format, `standard` first (the default). */
export const WEBHOOK_FORMATS = ['standard', 'request-network', 'deltapay', 'centrapay', 'alphapo'] as const;
/** A webhook endpoint's format. */
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** What one attempt of a delivery knows when it renders: `attempt` counts from 0 (the first try). */
export interface RenderContext {
  deliveryId: string;
  attempt: number;
  /** The signing secrets, the current one first (two during a rotation's overlap). */
  secrets: readonly string[];
  /** When the attempt is made. */
  sentAt: Date;
  /** The endpoint's id and URL (Centrapay's JWT names the URL as its audience; AlphaPo's callback the id as its key). */
  endpointId: string;
  url: string;
  /** The server's currencies (a format that speaks in minor units converts with them). */
  currencies: CurrencyRegistry;
  /** The server's public base URL (`PAYREQ_PUBLIC_URL`): Centrapay's JWT names its issuer under it. */
  publicUrl: string;
}

/** The bytes to post and the headers that go with them. */
export interface RenderedWebhook {
  body: string;
  headers: Record<string, string>;
}

/** One format: which events it carries, how it renders and signs them, and a new secret. */
export interface WebhookFormatModule {
  /** True when an endpoint of this format takes this event at all (its `enabledEvents` filter applies on top). */
  carries(event: Pick<StoredEvent, 'type' | 'data'>): boolean;
  /** Renders and signs one attempt; may be asynchronous (a JWT signature is). */
  render(event: StoredEvent, context: RenderContext): RenderedWebhook | Promise<RenderedWebhook>;
  newSecret(): string;
}

/** Standard Webhooks (https://www.standardwebhooks.com): every event, `webhook-id` = the event id. */
const standardFormat: WebhookFormatModule = {
  carries: () => true,
  render(event, context) {
    const body = standardPayload(event);
    return { body, headers: { ...signWebhook(event.id, context.sentAt, body, context.secrets) } };
  },
  newSecret: generateWebhookSecret,
};

const MODULES: Readonly<Record<WebhookFormat, WebhookFormatModule>> = {
  standard: standardFormat,
  'request-network': requestNetworkFormat,
  deltapay: deltapayFormat,
  centrapay: centrapayFormat,
  alphapo: alphapoFormat,
};

/** The module of a format (an unknown stored value falls back to `standard`). */
export function webhookFormat(format: string): WebhookFormatModule {
  return MODULES[format as WebhookFormat] ?? standardFormat;
}
