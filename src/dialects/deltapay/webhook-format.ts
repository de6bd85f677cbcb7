/**
 * The `deltapay` webhook format (docs/dialects/deltapay.md): on every status change of a
 * request into the endpoint's account, `POST {callback_url}/payment-request/update` with the
 * documented body and `signature` = base64 RSA-PSS (SHA-256, MGF1-SHA-256, maximum salt length)
 * over Python's `json.dumps(body_without_signature, sort_keys=True)`. The endpoint's secret is
 * the RSA-2048 private key (PKCS#8 PEM); its public key is the `signing_key` DeltaPay clients
 * verify with. Creation is not a status change, so `payment_request.created` is not sent.
 */
import { constants, createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { stringify } from 'lossless-json';
import type { PaymentRequestJson } from '../../contract/v1/payment-requests.js';
import type { StoredEvent } from '../../domain/entities.js';
import type { RenderContext, RenderedWebhook, WebhookFormatModule } from '../../webhooks/formats.js';
import { pythonJsonDumps } from './canonical-json.js';
import { readDeltaPayData } from './data.js';
import { deltapayView } from './mapping.js';

const STATUS_CHANGES = new Set(['payment_request.processing', 'payment_request.paid', 'payment_request.failed', 'payment_request.cancelled', 'payment_request.declined', 'payment_request.expired', 'payment_request.refunded']);

/** The base64 RSA-PSS signature of `body` (without `signature`) with a PKCS#8 PEM private key. */
export function deltapaySignature(privateKeyPem: string, body: Record<string, unknown>): string {
  return sign('sha256', Buffer.from(pythonJsonDumps(body), 'utf8'), {
    key: createPrivateKey(privateKeyPem),
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
  }).toString('base64');
}

/** The public key (SPKI PEM) of an endpoint's private key: DeltaPay's `signing_key`. */
export function signingKeyOf(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}

/** The `deltapay` format. */
export const deltapayFormat: WebhookFormatModule = {
  carries: (event) => STATUS_CHANGES.has(event.type) && typeof event.data['paymentRequest'] === 'object',
  render(event: StoredEvent, context: RenderContext): RenderedWebhook {
    const body: Record<string, unknown> = deltapayView(event.data['paymentRequest'] as PaymentRequestJson, readDeltaPayData(event.data));
    body['signature'] = deltapaySignature(context.secrets[0] ?? '', body);
    return { body: stringify(body) ?? '{}', headers: {} };
  },
  newSecret: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
};
