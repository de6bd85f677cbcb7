/**
 * What the hosted pay page (`/pay/{code}`) may do without an API key: read a request by its
 * code (only the fields a payer sees), follow its status, fetch the transactions a wallet signs
 * to pay it on chain, and in test mode simulate its payment.
 * The code is the bearer: whoever holds the link sees and pays the request (docs/api.md).
 */
import { randomUUID } from 'node:crypto';
import { DomainError } from '../domain/errors.js';
import { effectiveStatus, owedInOption, type PaymentRequest, type PaymentRequestStatus } from '../domain/payment-request.js';
import { findPaymentRequestByCode } from '../db/payment-request.repository.js';
import { preparePayment, type PreparedPayment } from './chain-payments.js';
import type { Deps, Principal } from './deps.js';
import { recordPayment } from './payment-requests/record.js';
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

/**
 * The transactions a payer's wallet signs to pay the request with this code on chain, for the
 * pay page's "Pay with wallet": what the `/v1` pay call answers ({@link preparePayment}),
 * always for all that is still owed and without a fee, since the page has no key and no say
 * over amounts. Starts listening on the option's reference, as the pay call does.
 * @param input - `wallet`: the payer's address (EIP-55 or lower case); `currency`: the option to
 *   pay in (default the first on-chain option).
 * @throws DomainError `payment_request_not_found` for an unknown code, and every error of
 *   {@link preparePayment} (`invalid_address`, `chain_not_configured`, `not_payable_on_chain`,
 *   `chain_unavailable`).
 */
export async function preparePaymentByCode(deps: Deps, code: string, input: { wallet: string; currency?: string | undefined }): Promise<PreparedPayment> {
  const pr = await findRequestByCode(deps, code);
  if (!pr) throw new DomainError('payment_request_not_found', 'no payment request has this code');
  // The page reads for the payee's org with the one permission it needs; the code is the bearer.
  const principal: Principal = { keyId: 'pay-page', orgId: pr.orgId, mode: pr.mode, grants: [{ permission: 'payment_requests:read' }] };
  return preparePayment(deps, principal, pr.id, input);
}
