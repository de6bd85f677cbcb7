/**
 * What the hosted pay page (`/pay/{code}`) may do without an API key: read a request by its
 * code (only the fields a payer sees), follow its status, and in test mode simulate its payment.
 * The code is the bearer: whoever holds the link sees and pays the request (DESIGN.md §2).
 */
import { randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import { effectiveStatus, owedInOption, type PaymentRequest, type PaymentRequestStatus } from '../domain/payment-request.js';
import { findPaymentRequestByCode } from '../db/payment-request.repository.js';
import type { Deps, Principal } from './deps.js';
import { recordPayment } from './payment-requests.js';
import { money } from './present.js';

const CODE = /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/;

/**
 * The request with this code, or undefined for an unknown or malformed code (never an error:
 * the page answers a plain 404 either way).
 */
export async function findRequestByCode(deps: Pick<Deps, 'store'>, code: string): Promise<PaymentRequest | undefined> {
  return CODE.test(code) ? findPaymentRequestByCode(deps.store, code) : undefined;
}

/** The public status of a request, as its live stream sends it: status (as of `now`), amounts as decimal strings. */
export interface PublicStatus {
  status: PaymentRequestStatus;
  amount: string;
  amountPaid: string;
  currency: string;
  sequence: number;
}

/** A request's {@link PublicStatus} at `now` (epoch ms). */
export function publicStatus(deps: Pick<Deps, 'currencies'>, pr: PaymentRequest, now: number): PublicStatus {
  return { status: effectiveStatus(pr, now), amount: money(deps.currencies, pr.currency, pr.amount), amountPaid: money(deps.currencies, pr.currency, pr.amountPaid), currency: pr.currency, sequence: pr.sequence };
}

/**
 * Test mode only: records a simulated external payment of all that is still owed (reference
 * `simulated_<uuid>`), as the pay page's "Simulate payment" button does.
 * @throws DomainError `test_mode_only` for a live request; `invalid_transition` when it is not payable;
 *   `payment_request_not_found` for an unknown code.
 */
export async function simulatePayment(deps: Deps, code: string): Promise<PaymentRequest> {
  const pr = await findRequestByCode(deps, code);
  if (!pr) throw new DomainError('payment_request_not_found', 'no payment request has this code');
  if (pr.mode !== 'test') throw new DomainError('test_mode_only', 'payments can be simulated in test mode only');
  // The page acts for the payee's org with the one permission it needs.
  const principal: Principal = { keyId: 'pay-page', orgId: pr.orgId, mode: pr.mode, grants: [{ permission: 'payments:record' }] };
  const option = pr.paymentOptions.find((o) => o.currency === pr.currency);
  const owed = option ? owedInOption(pr, option) : pr.amount - pr.amountPaid;
  const status = effectiveStatus(pr, deps.clock());
  if (owed <= 0n || status !== 'pending') throw new DomainError('invalid_transition', `cannot pay a payment request that is ${status}`, { details: { currentStatus: status } });
  const { paymentRequest } = await recordPayment(deps, principal, pr.id, { amount: money(deps.currencies, pr.currency, owed), reference: `simulated_${randomUUID()}` });
  return paymentRequest;
}
