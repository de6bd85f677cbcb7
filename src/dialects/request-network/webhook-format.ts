/**
 * The `request-network` webhook format (docs/dialects/request-network.md): Request Network's
 * `payment.confirmed` / `payment.partial` bodies, signed with `x-request-network-signature` =
 * lower-case hex HMAC-SHA256 of the exact body bytes, keyed with the endpoint's secret string
 * (64 hex characters, used as UTF-8 text, not decoded).
 *
 * The body is compact `JSON.stringify` output, so a receiver that verifies over
 * `JSON.stringify(JSON.parse(body))` (Request Network's older docs and easy-invoice) computes
 * the same bytes as one that verifies the raw body (the newer docs).
 *
 * Other headers: `x-request-network-delivery` (the delivery id, the same on every retry: use it
 * to deduplicate) and `x-request-network-retry-count` (0 on the first attempt). Payreq's retry
 * schedule is its own (longer than Request Network's 1 s / 5 s / 15 s), so the count can pass 3.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { RenderContext, RenderedWebhook, WebhookFormatModule } from '../../webhooks/formats.js';
import { toRequestId, wireReference } from './ids.js';
import type { StoredEvent } from '../../domain/entities.js';
import { shortestDecimal } from '../../domain/money.js';

/** Lower-case hex HMAC-SHA256 of `body` keyed with `secret` (its UTF-8 bytes). */
export function requestNetworkSignature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body, 'utf8').digest('hex');
}

type Json = Record<string, unknown>;

function shortest(decimal: string | null): string | null {
  return decimal === null ? null : shortestDecimal(decimal);
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** `USDC-sepolia` → `USDC`; a fiat code stays as it is. */
function symbolOf(code: string): string {
  return code.split('-')[0] ?? code;
}

/**
 * The Request Network payload of a `payment.received` event: `payment.confirmed` when the
 * request is paid after it, `payment.partial` otherwise. `amount` is the payment in the
 * payment currency; `totalAmountPaid` and `expectedAmount` are in the invoice currency
 * (`currency`); all are decimal strings. `explorer` is the request's Payreq pay page.
 */
export function requestNetworkPayload(event: Pick<StoredEvent, 'data' | 'createdAt'>): Json {
  const pr = (event.data['paymentRequest'] ?? {}) as Json;
  const payment = (event.data['payment'] ?? {}) as Json;
  const paymentCurrency = str(payment['currency']) ?? str(pr['currency']) ?? '';
  const options = Array.isArray(pr['paymentOptions']) ? (pr['paymentOptions'] as Json[]) : [];
  const option = options.find((o) => o['currency'] === paymentCurrency);
  const requestId = toRequestId(str(pr['id']) ?? '');
  const feeAmount = str(payment['feeAmount']);
  return {
    event: pr['status'] === 'paid' ? 'payment.confirmed' : 'payment.partial',
    requestId,
    requestID: requestId,
    paymentReference: wireReference(str(option?.['paymentReference']) ?? str(pr['paymentReference']) ?? ''),
    explorer: str(pr['paymentLink']),
    // Request Network's amounts are the shortest decimals ("12", not Payreq's fiat "12.00").
    amount: shortest(str(payment['amount'])),
    totalAmountPaid: shortest(str(pr['amountPaid'])),
    expectedAmount: shortest(str(pr['amount'])),
    timestamp: new Date(event.createdAt).toISOString(),
    txHash: str(payment['txHash']),
    payerAddress: str(payment['from']),
    payerEoaAddress: str(payment['from']),
    network: str(payment['network']) ?? str(option?.['network']),
    currency: symbolOf(str(pr['currency']) ?? ''),
    paymentCurrency: symbolOf(paymentCurrency),
    isCryptoToFiat: false,
    subStatus: '',
    paymentProcessor: 'request-network',
    fees: feeAmount !== null && feeAmount !== '0' ? [{ type: 'platform', amount: feeAmount, currency: symbolOf(paymentCurrency) }] : [],
  };
}

/** The `request-network` format: applied payments only (a payment flagged for refund is not a confirmation). */
export const requestNetworkFormat: WebhookFormatModule = {
  carries(event) {
    const payment = event.data['payment'] as Json | undefined;
    return event.type === 'payment.received' && payment?.['status'] === 'applied';
  },
  render(event: StoredEvent, context: RenderContext): RenderedWebhook {
    const body = JSON.stringify(requestNetworkPayload(event));
    return {
      body,
      headers: {
        'x-request-network-signature': requestNetworkSignature(context.secrets[0] ?? '', body),
        'x-request-network-delivery': context.deliveryId,
        'x-request-network-retry-count': String(context.attempt),
      },
    };
  },
  newSecret: () => randomBytes(32).toString('hex'),
};
