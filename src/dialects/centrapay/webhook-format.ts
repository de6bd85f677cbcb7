/**
 * The `centrapay` webhook format (docs/dialects/centrapay.md; Centrapay's webhooks guide):
 * `payment-request:paid`, `payment-request:refund-initiated` and
 * `payment-request:refund-completed` notifications, body `{id, type, data, accountId, test,
 * createdAt}` with `data` a Payment Activity, signed with an ES256 JWT sent as the whole
 * `Authorization` header. Its claims: Centrapay's `iat`, `exp` = iat + 300 s, `aud` = the
 * endpoint's URL and `request_body_sha256` = the hex SHA-256 of the exact body; and Payreq's
 * `iss` (the org and mode, {@link centrapayIssuer}) and `sub` (the endpoint's id), so that a
 * token names whose it is. The endpoint's secret is its EC P-256 private key (PKCS#8 PEM);
 * receivers verify with the endpoint's own key set, `GET {@link centrapayJwksPath}`, which holds
 * that endpoint's keys and nothing else: a key set shared by several endpoints would let one
 * org's notification verify at another's receiver (docs/dialects/centrapay.md#notifications).
 * The header names the key by `kid` (its RFC 7638 thumbprint) and carries no `jku`: a receiver
 * fetches only the key set it configured. Rotating the endpoint's secret rotates its key; the
 * old key stays in the set through the overlap.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK, SignJWT } from 'jose';
import type { PaymentRequestJson } from '../../contract/v1/payment-requests.js';
import type { StoredEvent } from '../../domain/entities.js';
import type { Mode } from '../../domain/payment-request.js';
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

/** The path of an endpoint's key set (JWKS), under the server's public URL. */
export function centrapayJwksPath(endpointId: string): string {
  return `/compat/centrapay/webhook-endpoints/${endpointId}/jwks.json`;
}

/**
 * The `iss` of an org's notifications in one mode: `{publicUrl}/compat/centrapay/orgs/{orgId}/{mode}`.
 * It names the org and mode, not a document to fetch; it follows `PAYREQ_PUBLIC_URL`, so every
 * process delivering webhooks must be given the same one.
 */
export function centrapayIssuer(publicUrl: string, orgId: string, mode: Mode): string {
  return `${publicUrl}/compat/centrapay/orgs/${orgId}/${mode}`;
}

/** What a receiver of a `centrapay` endpoint pins to verify its notifications: the endpoint's JWKS URL, and the `iss` and `sub` its tokens carry. */
export interface CentrapayVerification {
  jwksUrl: string;
  issuer: string;
  subject: string;
}

/** The {@link CentrapayVerification} of an endpoint, under the server's public URL. */
export function centrapayVerification(publicUrl: string, endpoint: { id: string; orgId: string; mode: Mode }): CentrapayVerification {
  return { jwksUrl: `${publicUrl}${centrapayJwksPath(endpoint.id)}`, issuer: centrapayIssuer(publicUrl, endpoint.orgId, endpoint.mode), subject: endpoint.id };
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
    .setIssuer(centrapayIssuer(context.publicUrl, event.orgId, event.mode))
    .setSubject(context.endpointId)
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
  endpointFields: (endpoint, publicUrl) => ({ centrapay: centrapayVerification(publicUrl, endpoint) }),
};
