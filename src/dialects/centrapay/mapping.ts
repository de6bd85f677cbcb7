/**
 * Centrapay's words and shapes (docs/dialects/centrapay.md, https://docs.centrapay.com/api/payment-requests):
 * the status table, the Payment Request model, Payment Activities derived from a request's
 * events, and short codes. Amounts are Monetary `{amount, currency}` with `amount` a string of
 * minor units ("cents").
 */
import { assetTypeOf, livenessOf } from '../../app/merchant-configs.js';
import type { PaymentRequestJson } from '../../contract/v1/payment-requests.js';
import type { CurrencyRegistry } from '../../domain/currency.js';
import type { StoredEvent } from '../../domain/entities.js';
import { codeCheckCharacter } from '../../domain/ids.js';
import { parseAmount } from '../../domain/money.js';
import type { PaymentRequestStatus } from '../../domain/payment-request.js';
import { type CentrapayData, readCentrapayData } from './data.js';

/**
 * Payreq status → Centrapay's word (`new | paid | cancelled | expired`). `processing` (a ledger
 * approval in flight, never seen outside its transaction) reads `new`; a refunded request stays
 * `paid` (Centrapay's refunds are activities of a paid request); `failed` and `declined` read
 * `cancelled`, with the cancellation reason saying why.
 */
export const CENTRAPAY_STATUS: Readonly<Record<PaymentRequestStatus, 'new' | 'paid' | 'cancelled' | 'expired'>> = {
  pending: 'new',
  processing: 'new',
  paid: 'paid',
  refunded: 'paid',
  failed: 'cancelled',
  cancelled: 'cancelled',
  declined: 'cancelled',
  expired: 'expired',
};

/** The cancellation reason of a cancelled-looking status (Centrapay's documented reasons). */
export const CANCELLATION_REASON: Readonly<Partial<Record<PaymentRequestStatus, string>>> = {
  cancelled: 'CANCELLED_BY_MERCHANT',
  declined: 'DECLINED_BY_PATRON',
  failed: 'PAYMENT_FAILED',
};

/** The payment reference prefix of a Centrapay `idempotencyKey` (a pay call's). */
export const PAY_REFERENCE_PREFIX = 'centrapay:';
/** The refund reference of a void (one per request). */
export const VOID_REFERENCE = 'centrapay:void';

/**
 * The Centrapay short code of a request: `CP-` + its code + `-` + a check character
 * (`CP-ABCD-EFGH-JKMN-7`). Payreq's codes are longer than Centrapay's `CP-C7F-ZS5`.
 */
export function shortCodeOf(code: string): string {
  return `CP-${code}-${codeCheckCharacter(code)}`;
}

/**
 * The request code of a short code, or undefined when it is malformed or its check character
 * is wrong (Centrapay's `CHECKSUM_FAILED`). Lower case is accepted.
 */
export function codeOfShortCode(shortCode: string): string | undefined {
  const match = /^CP-([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})-([0-9A-Z])$/.exec(shortCode.toUpperCase());
  if (!match?.[1] || !match[2]) return undefined;
  try {
    return codeCheckCharacter(match[1]) === match[2] ? match[1] : undefined;
  } catch {
    return undefined;
  }
}

function cents(currencies: CurrencyRegistry, currency: string, decimal: string): string {
  return parseAmount(decimal, currencies.get(currency).exponent, { allowZero: true, allowNegative: true }).toString();
}

function definedOnly(view: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined && v !== null));
}

/**
 * A payment request as Centrapay's Payment Request model. `configId` is also sent as
 * `merchantConfigId` (the name in Centrapay's 2021 documentation, still used on activities). Optional fields are left
 * out when unset, as Centrapay does. The fields without a canonical home (`configId`,
 * `externalRef`, `invoiceRef`, …) come from `stored`, Centrapay's own data on the request
 * (src/dialects/centrapay/data.ts).
 */
export function centrapayView(pr: PaymentRequestJson, stored: CentrapayData, currencies: CurrencyRegistry): Record<string, unknown> {
  const exponent = currencies.get(pr.currency).exponent;
  const remaining = parseAmount(pr.amount, exponent) - parseAmount(pr.amountPaid, exponent, { allowZero: true });
  return definedOnly({
    id: pr.id,
    shortCode: shortCodeOf(pr.code),
    url: pr.paymentLink,
    value: { currency: pr.currency, amount: cents(currencies, pr.currency, pr.amount) },
    paymentOptions: pr.paymentOptions.map((o) => ({ assetType: assetTypeOf(currencies, o.currency, pr.mode), amount: cents(currencies, o.currency, o.amount) })),
    merchantId: pr.payee.partyId,
    merchantName: pr.payee.name,
    configId: stored.configId,
    merchantConfigId: stored.configId,
    status: CENTRAPAY_STATUS[pr.status],
    liveness: livenessOf(pr.mode),
    createdAt: pr.createdAt,
    updatedAt: pr.updatedAt,
    expiresAt: pr.expiresAt,
    expirySeconds: stored.expirySeconds ?? Math.round((Date.parse(pr.expiresAt) - Date.parse(pr.createdAt)) / 1000),
    remainingAmount: (remaining < 0n ? 0n : remaining).toString(),
    patronCodeId: pr.patronCodeId,
    lineItems: pr.lineItems?.map((li) => definedOnly({ name: li.name, sku: li.sku === '' ? undefined : li.sku, qty: li.qty, price: cents(currencies, pr.currency, li.price) })),
    externalRef: stored.externalRef,
    invoiceRef: stored.invoiceRef,
    purchaseOrderRef: stored.purchaseOrderRef,
    redirectPaidUrl: pr.redirectUrls?.success,
    redirectCancelUrl: pr.redirectUrls?.store,
    partialAllowed: stored.partialAllowed,
    terminalId: stored.terminalId,
    deviceId: stored.deviceId,
    operatorId: stored.operatorId,
    barcode: stored.barcode,
    barcodeType: stored.barcodeType,
    taxNumber: stored.taxNumber,
    cancellationReason: CANCELLATION_REASON[pr.status],
  });
}

/** The CRN of an API key (Centrapay's `createdBy`): `crn:<org>:api-key:<key id>`. */
export function crnOfKey(orgId: string, keyId: string): string {
  return `crn:${orgId}:api-key:${keyId}`;
}

interface PaymentJson { id: string; currency: string; appliedAmount: string; reference: string; rail: string }
interface RefundJson { id: string; amount: string; reference: string | null }

/**
 * The Payment Activity an event stands for, or undefined for events that are none (processing,
 * refund.completed, reverts). `created` → `request`, `payment.received` → `payment`,
 * `payment_request.paid` → `paid`, `refund.created` → `refund`, cancel / decline / fail →
 * `cancellation` with its reason, expiry → `expiry`. `activityNumber` is the event's sequence;
 * a payment or refund activity has the payment's or refund's id, others the event's. With
 * `as: 'payment'`, a `paid` event renders the payment that completed it (its number is the
 * `payment.received` event's, written just before).
 */
export function activityOf(event: StoredEvent, currencies: CurrencyRegistry, as?: 'payment'): Record<string, unknown> | undefined {
  const pr = event.data['paymentRequest'] as PaymentRequestJson | undefined;
  if (!pr) return undefined;
  const stored = readCentrapayData(event.data);
  const value = (decimal: string) => ({ currency: pr.currency, amount: cents(currencies, pr.currency, decimal) });
  const base = (id: string, type: string, sequence: number) => ({
    id,
    type,
    paymentRequestId: pr.id,
    merchantId: pr.payee.partyId,
    merchantConfigId: stored.configId,
    merchantAccountId: pr.payee.accountId,
    merchantName: pr.payee.name,
    shortCode: `${shortCodeOf(pr.code)}-${String(sequence).padStart(3, '0')}`,
    activityNumber: String(sequence),
    createdAt: new Date(event.createdAt).toISOString(),
    external: false,
  });
  const payment = event.data['payment'] as PaymentJson | undefined;
  if ((event.type === 'payment.received' || (event.type === 'payment_request.paid' && as === 'payment')) && payment) {
    const sequence = event.type === 'payment.received' ? event.sequence : event.sequence - 1;
    return definedOnly({
      ...base(payment.id, 'payment', sequence),
      value: value(payment.appliedAmount),
      assetType: assetTypeOf(currencies, payment.currency, pr.mode),
      external: payment.rail !== 'ledger',
      idempotencyKey: payment.reference.startsWith(PAY_REFERENCE_PREFIX) ? payment.reference.slice(PAY_REFERENCE_PREFIX.length) : undefined,
    });
  }
  const refund = event.data['refund'] as RefundJson | undefined;
  if ((event.type === 'refund.created' || event.type === 'refund.completed') && refund) {
    const sequence = event.type === 'refund.created' ? event.sequence : event.sequence - 1;
    return definedOnly({
      ...base(refund.id, 'refund', sequence),
      value: value(refund.amount),
      assetType: assetTypeOf(currencies, pr.currency, pr.mode),
      externalRef: refund.reference === null || refund.reference === VOID_REFERENCE ? undefined : refund.reference,
      invoiceRef: stored.invoiceRef,
    });
  }
  const simple: Partial<Record<string, { type: string; reason?: string }>> = {
    'payment_request.created': { type: 'request' },
    'payment_request.paid': { type: 'paid' },
    'payment_request.cancelled': { type: 'cancellation', reason: 'CANCELLED_BY_MERCHANT' },
    'payment_request.declined': { type: 'cancellation', reason: 'DECLINED_BY_PATRON' },
    'payment_request.failed': { type: 'cancellation', reason: 'PAYMENT_FAILED' },
    'payment_request.expired': { type: 'expiry' },
  };
  const kind = simple[event.type];
  if (!kind) return undefined;
  return definedOnly({ ...base(event.id, kind.type, event.sequence), value: value(pr.amount), cancellationReason: kind.reason });
}

/** The Payment Activities of a request, oldest first, from its events. */
export function activitiesOf(events: readonly StoredEvent[], currencies: CurrencyRegistry): Record<string, unknown>[] {
  const activities: Record<string, unknown>[] = [];
  for (const event of events) {
    const activity = event.type === 'refund.completed' ? undefined : activityOf(event, currencies);
    if (activity) activities.push(activity);
  }
  return activities;
}
