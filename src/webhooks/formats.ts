/**
 * Webhook formats (docs/webhooks.md): one outbox, one retry schedule, one delivery log; an
 * endpoint's `format` picks which events it takes, how each is rendered and signed, and the
 * shape of its secret. A provider's format is a small module beside its dialect.
 */
import type { CurrencyRegistry } from '../domain/currency.js';
import type { StoredEvent } from '../domain/entities.js';
import { generateWebhookSecret, signWebhook } from './signing.js';
import { standardPayload } from './standard-payload.js';

/** The name of the default format, Standard Webhooks. */
export const STANDARD_FORMAT = 'standard';

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
  /**
   * Fields the API shows on an endpoint of this format beside its own, given the server's public
   * URL: what its receiver pins to verify deliveries (Centrapay's `{centrapay: {jwksUrl, issuer,
   * subject}}`). Absent: none.
   */
  endpointFields?(endpoint: { id: string; orgId: string; mode: 'live' | 'test' }, publicUrl: string): Record<string, unknown>;
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

/**
 * The webhook formats a server offers, by name, `standard` first (the default): the `format`
 * values `/v1/webhook-endpoints` accepts, in this order in its OpenAPI enum. Built once by
 * {@link webhookFormats} from the dialects' formats and carried in the dependencies
 * (`Deps.webhookFormats`), so that nothing below the composition root names a dialect.
 */
export class WebhookFormats {
  /** Every format's name, `standard` first. */
  readonly names: readonly [string, ...string[]];
  private readonly modules: ReadonlyMap<string, WebhookFormatModule>;

  /** @param modules - the formats by name, `standard` first (use {@link webhookFormats}). */
  constructor(modules: ReadonlyMap<string, WebhookFormatModule>) {
    this.modules = modules;
    this.names = [...modules.keys()] as [string, ...string[]];
  }

  /** True when `format` names a format of this server. */
  has(format: string): boolean {
    return this.modules.has(format);
  }

  /** The module of a format (an unknown stored value falls back to `standard`). */
  get(format: string): WebhookFormatModule {
    return this.modules.get(format) ?? standardFormat;
  }
}

/**
 * The registry of `standard` followed by `formats` (each dialect's `webhookFormats`, in the order
 * of the dialect list).
 * @throws Error when two formats share a name, or one is named `standard`.
 */
export function webhookFormats(formats: readonly Readonly<Record<string, WebhookFormatModule>>[]): WebhookFormats {
  const modules = new Map<string, WebhookFormatModule>([[STANDARD_FORMAT, standardFormat]]);
  for (const group of formats) {
    for (const [name, module] of Object.entries(group)) {
      if (modules.has(name)) throw new Error(`two webhook formats are named ${name}`);
      modules.set(name, module);
    }
  }
  return new WebhookFormats(modules);
}
