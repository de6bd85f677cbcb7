/**
 * Pismo's status words and list items (docs/dialects/pismo.md). `PENDING`, `PAID` and
 * `EXPIRED` are documented; the others are Payreq's choice (Pismo names declining and
 * cancelling but not their words).
 */
import type { PaymentRequestStatus } from '../../domain/payment-request.js';
import { shortestDecimal } from '../../domain/money.js';
import { jsonAmount } from '../json-numbers.js';

/** Payreq status → Pismo status word. */
export const PISMO_STATUS: Readonly<Record<PaymentRequestStatus, string>> = {
  pending: 'PENDING',
  processing: 'PROCESSING',
  paid: 'PAID',
  failed: 'FAILED',
  cancelled: 'CANCELED',
  declined: 'DECLINED',
  expired: 'EXPIRED',
  refunded: 'REFUNDED',
};

/** The metadata key that keeps Pismo's fields Payreq has no column for (`location`), hidden from Pismo's own `metadata`. */
export const PISMO_KEY = '_pismo';

/** What a list item is made from: the request as the API presents it, and its payee account's number. */
export interface ListSource {
  code: string;
  status: PaymentRequestStatus;
  amount: string;
  expiresAt: string;
  createdAt: string;
  metadata: Record<string, unknown> | null;
  toAccountNumber: number | null;
}

/** A list item as Pismo's guide shows it: `{amount, to, expiration, location, status, id, creation_date, metadata}`. */
export function listItem(source: ListSource) {
  const { [PISMO_KEY]: pismo, ...metadata } = source.metadata ?? {};
  const location = (pismo as { location?: unknown } | undefined)?.location ?? null;
  return {
    amount: jsonAmount(shortestDecimal(source.amount)),
    to: source.toAccountNumber,
    expiration: source.expiresAt,
    location,
    status: PISMO_STATUS[source.status],
    id: source.code,
    creation_date: source.createdAt,
    metadata,
  };
}
