/**
 * The `centrapay` webhook format (reference/providers.md B5; Centrapay's webhooks guide):
 * `payment-request:paid`, `payment-request:refund-initiated` and
 * `payment-request:refund-completed` notifications, body `{id, type, data, accountId, test,
 * createdAt}` with `data` a Payment Activity, signed with an ES256 JWT sent as the whole
 * `Authorization` header. Its claims: `iat`, `exp` = iat + 300 s, `aud` = the endpoint's URL and
 * `request_body_sha256` = the hex SHA-256 of the exact body. The endpoint's secret is its EC
 * P-256 private key (PKCS#8 PEM); receivers verify with the public key of the JWT's `kid` (the
 * key's RFC 7638 thumbprint) from `/compat/centrapay/.well-known/jwks.json`. Rotating the
 * endpoint's secret rotates its key; the old key stays in the JWKS through the overlap.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK, SignJWT } from 'jose';
import type { PaymentRequestJson } from '../../app/present.js';
import type { StoredEvent } from '../../db/event.repository.js';
import type { RenderContext, RenderedWebhook, WebhookFormatModule } from '../../webhooks/formats.js';
import { activityOf } from './mapping.js';

/** Payreq event → Centrapay notification type. */
export const NOTIFICATION_TYPES: Readonly<Record<string, string>> = {
  'payment_request.paid': 'payment-request:paid',
  'refund.created': 'payment-request:refund-initiated',
  'refund.completed': 'payment-request:refund-completed',
};

/** How long a notification's JWT is valid, in seconds (Centrapay: "5 minutes after iat"). */
export const JWT_LIFETIME_SECONDS = 300;

/** The public JWK of a PKCS#8 PEM private key, with its `kid` (RFC 7638 thumbprint), `alg` and `use`. */
export async function publicJwkOf(privateKeyPem: string): Promise<JWK> {
  const jwk = createPublicKey(privateKeyPem).export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), use: 'sig', alg: 'ES256' };
}

async function render(event: StoredEvent, context: RenderContext): Promise<RenderedWebhook> {
  const pr = event.data['paymentRequest'] as PaymentRequestJson;
  const body = JSON.stringify({
    id: event.id,
    type: NOTIFICATION_TYPES[event.type],
    data: activityOf(event, context.currencies, 'payment'),
    accountId: pr.payee.partyId,
    test: pr.mode === 'test',
    createdAt: new Date(event.createdAt).toISOString(),
  });
  const secret = context.secrets[0] ?? '';
  const iat = Math.floor(context.sentAt.getTime() / 1000);
  const jwt = await new SignJWT({ request_body_sha256: createHash('sha256').update(body, 'utf8').digest('hex') })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: (await publicJwkOf(secret)).kid })
    .setIssuedAt(iat)
    .setExpirationTime(iat + JWT_LIFETIME_SECONDS)
    .setAudience(context.url)
    .sign(createPrivateKey(secret));
  return { body, headers: { authorization: jwt } };
}

/** The `centrapay` format. */
export const centrapayFormat: WebhookFormatModule = {
  carries: (event) => event.type in NOTIFICATION_TYPES && typeof event.data['paymentRequest'] === 'object',
  render,
  newSecret: () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};
