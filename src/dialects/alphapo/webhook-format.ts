/**
 * The `alphapo` webhook format (docs/dialects/alphapo.md): on each change of a request's
 * AlphaPo status word, the payment-request callback body, signed as AlphaPo signs requests:
 * `X-Processing-Key` (here the endpoint's id, a public name) and `X-Processing-Signature`, the
 * lowercase hex HMAC-SHA512 of the exact body bytes with the endpoint's secret. Creation is not
 * a change (the create call answers `created`); a payment that completes a request is told by
 * the `paid` event alone; a refund leaves the word `paid`; a payment that arrives after the
 * request closed (flagged for refund) is not sent, AlphaPo's "late payment" body being
 * undocumented.
 */
import { randomBytes } from 'node:crypto';
import type { PaymentRequestJson } from '../../contract/v1/payment-requests.js';
import type { WebhookFormatModule } from '../../webhooks/formats.js';
import { processingSignature } from './auth.js';
import { callbackBody } from './mapping.js';

const STATUS_CHANGES = new Set(['payment_request.processing', 'payment_request.paid', 'payment_request.failed', 'payment_request.cancelled', 'payment_request.declined', 'payment_request.expired', 'payment.reverted']);

/** The `alphapo` format. Secrets are 64 hex characters (32 random bytes). */
export const alphapoFormat: WebhookFormatModule = {
  carries(event) {
    const pr = event.data['paymentRequest'] as PaymentRequestJson | undefined;
    if (pr === undefined || typeof pr !== 'object') return false;
    if (event.type === 'payment.received') return event.data['requiresRefund'] !== true && pr.status === 'pending';
    return STATUS_CHANGES.has(event.type);
  },
  render(event, context) {
    const body = JSON.stringify(callbackBody(event.data['paymentRequest'] as PaymentRequestJson, context.currencies));
    return { body, headers: { 'x-processing-key': context.endpointId, 'x-processing-signature': processingSignature(context.secrets[0] ?? '', body) } };
  },
  newSecret: () => randomBytes(32).toString('hex'),
};
