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

/**
 * A metadata key Pismo's list leaves out of `metadata`: Pismo once kept `location` under it, and
 * a caller's own key of that name (plain metadata now, docs/dialects/pismo.md "Stored fields")
 * is never shown by Pismo, as a location or otherwise.
 */
export const PISMO_KEY = '_pismo';

/** What a list item is made from: the request as the API presents it, and its payee account's number. */
export interface ListSource {
  code: string;
  status: PaymentRequestStatus;
  amount: string;
  expiresAt: string;
  createdAt: string;
  metadata: Record<string, unknown> | null;
  /** The create's `location`, from Pismo's own data (src/dialects/pismo/data.ts); null when none. */
  location: unknown;
  toAccountNumber: number | null;
}

/** A list item as Pismo's guide shows it: `{amount, to, expiration, location, status, id, creation_date, metadata}`. */
export function listItem(source: ListSource) {
  const { [PISMO_KEY]: _hidden, ...metadata } = source.metadata ?? {};
  const location = source.location ?? null;
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
