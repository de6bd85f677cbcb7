/**
 * The JSON shapes the API returns and events carry: camelCase, amounts as decimal strings in
 * their currency, times as RFC 3339 strings. One function per object, used by every route and
 * by the event log, so a payload never differs between the two.
 */
import type { CurrencyRegistry } from '../domain/currency.js';
import { formatAmount } from '../domain/money.js';
import { effectiveStatus, type PaymentRequest } from '../domain/payment-request.js';
import type { Account } from '../db/account.repository.js';
import type { ApiKey } from '../db/api-key.repository.js';
import type { StoredEvent } from '../db/event.repository.js';
import type { Party } from '../db/party.repository.js';
import type { Payment, Refund } from '../db/payment.repository.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

/** Formats minor units of `currency` as a decimal string. */
export function money(currencies: CurrencyRegistry, currency: string, minor: bigint): string {
  return formatAmount(minor, currencies.get(currency).exponent);
}

/** The payment request as the API returns it, with its status as of `now` (epoch ms). */
export function presentPaymentRequest(pr: PaymentRequest, currencies: CurrencyRegistry, publicUrl: string, now: number) {
  const amount = (minor: bigint) => money(currencies, pr.currency, minor);
  return {
    id: pr.id,
    object: 'payment_request' as const,
    mode: pr.mode,
    status: effectiveStatus(pr, now),
    amount: amount(pr.amount),
    currency: pr.currency,
    payee: { accountId: pr.payeeAccountId, partyId: pr.payeePartyId },
    payer: pr.payerAccountId === null && pr.payerPartyId === null ? null : { accountId: pr.payerAccountId, partyId: pr.payerPartyId },
    paymentOptions: pr.paymentOptions.map((o) => {
      const token = currencies.find(o.currency)?.token;
      return { currency: o.currency, amount: money(currencies, o.currency, o.amount), rate: o.rate, network: token?.network ?? null };
    }),
    expiresAt: iso(pr.expiresAt),
    description: pr.description,
    metadata: pr.metadata,
    externalId: pr.externalId,
    lineItems: pr.lineItems?.map((li) => ({ name: li.name, sku: li.sku, qty: li.qty, price: amount(li.price) })) ?? null,
    customer: pr.customer,
    redirectUrls: pr.redirectUrls,
    merchant: pr.merchant,
    patronCodeId: pr.patronCodeId,
    transactionType: pr.transactionType,
    tillId: pr.tillId,
    amountPaid: amount(pr.amountPaid),
    amountRefunded: amount(pr.amountRefunded),
    paidAt: isoOrNull(pr.paidAt),
    failureReason: pr.failureReason,
    code: pr.code,
    paymentLink: `${publicUrl}/pay/${pr.code}`,
    paymentReference: pr.paymentReference,
    sequence: pr.sequence,
    createdAt: iso(pr.createdAt),
    updatedAt: iso(pr.updatedAt),
  };
}
/** The JSON of a payment request. */
export type PaymentRequestJson = ReturnType<typeof presentPaymentRequest>;

/** A payment as the API returns it. */
export function presentPayment(p: Payment, requestCurrency: string, currencies: CurrencyRegistry) {
  return {
    id: p.id,
    object: 'payment' as const,
    paymentRequestId: p.paymentRequestId,
    rail: p.rail,
    amount: money(currencies, p.currency, p.amount),
    currency: p.currency,
    appliedAmount: money(currencies, requestCurrency, p.appliedAmount),
    amountRefunded: money(currencies, requestCurrency, p.amountRefunded),
    reference: p.reference,
    payerAccountId: p.payerAccountId,
    status: p.status,
    createdAt: iso(p.createdAt),
  };
}

/** A refund as the API returns it. */
export function presentRefund(r: Refund, currency: string, currencies: CurrencyRegistry) {
  return {
    id: r.id,
    object: 'refund' as const,
    paymentRequestId: r.paymentRequestId,
    amount: money(currencies, currency, r.amount),
    currency,
    reason: r.reason,
    createdAt: iso(r.createdAt),
  };
}

/** An account as the API returns it, with its balance. */
export function presentAccount(a: Account, currencies: CurrencyRegistry) {
  return {
    id: a.id,
    object: 'account' as const,
    mode: a.mode,
    partyId: a.partyId,
    currency: a.currency,
    balance: money(currencies, a.currency, a.balance),
    status: a.status,
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
  };
}

/** A party as the API returns it. */
export function presentParty(p: Party) {
  return {
    id: p.id,
    object: 'party' as const,
    mode: p.mode,
    type: p.type,
    username: p.username,
    phone: p.phone,
    email: p.email,
    name: p.name,
    merchant: p.merchant,
    createdAt: iso(p.createdAt),
  };
}

/** An API key as the API returns it (never the secret, except once at creation). */
export function presentApiKey(k: ApiKey) {
  return {
    id: k.id,
    object: 'api_key' as const,
    mode: k.mode,
    name: k.name,
    prefix: k.prefix,
    grants: k.grants,
    createdAt: iso(k.createdAt),
  };
}

/** An event as the API returns it. `data` holds the payment request as it was after the change. */
export function presentEvent(e: StoredEvent) {
  return {
    id: e.id,
    object: 'event' as const,
    type: e.type,
    sequence: e.sequence,
    paymentRequestId: e.paymentRequestId,
    createdAt: iso(e.createdAt),
    data: e.data,
  };
}
