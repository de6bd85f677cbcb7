/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): secrets are `whsec_` + base64
 * of random bytes; the signature is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`,
 * computed with the `standardwebhooks` package; during a secret rotation both signatures are
 * sent, space-separated, as the spec allows.
 */
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** A new endpoint secret: `whsec_` + base64 of 32 random bytes (the spec asks for 24 to 64). */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/** The three Standard Webhooks headers. `webhook-timestamp` is in seconds since the epoch. */
export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/**
 * Signs `body` for message `id` at `timestamp` with each secret (the current one first).
 * @param timestamp - the send time; the header carries it in whole seconds.
 */
export function signWebhook(id: string, timestamp: Date, body: string, secrets: readonly string[]): WebhookHeaders {
  const seconds = new Date(Math.floor(timestamp.getTime() / 1000) * 1000);
  const signatures = secrets.map((secret) => new Webhook(secret).sign(id, seconds, body));
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(seconds.getTime() / 1000)),
    'webhook-signature': signatures.join(' '),
  };
}
