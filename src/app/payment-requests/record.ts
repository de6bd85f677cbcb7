/**
 * External payments: money received outside the ledger, recorded by the payee's side (and, in
 * the modes `PAYREQ_HOLD_RECORDED_PAYMENTS` holds, confirmed by a key with `payments:confirm`
 * before it counts). docs/api.md, "External payments".
 */
import { fieldError } from '../../domain/errors.js';
import { parseAmount } from '../../domain/money.js';
import { appliedShare } from '../../domain/payment-options.js';
import { type PaymentRequest, recordUnappliedPayment, transition } from '../../domain/payment-request.js';
import { newPayment, type Payment } from '../../domain/payment.js';
import { findAccount, systemAccount } from '../../db/account.repository.js';
import { findPaymentByReference, insertPayment, setPaymentApplied } from '../../db/payment.repository.js';
import type { Tx } from '../../db/store.js';
import { movementPostings, transfer } from '../../rails/ledger.js';
import { isWallet } from '../accounts.js';
import type { Deps, Principal } from '../deps.js';
import { presentPayment } from '../present.js';
import { authorize } from './access.js';
import { runCommand, saveTransition } from './commands.js';

/** Input for {@link recordPayment}: `amount` is a decimal string in `currency` (default: the request's). */
export interface RecordPaymentInput {
  amount: string;
  reference: string;
  currency?: string | undefined;
}

/** True when a payment recorded in `mode` is held until confirmed (Settings.holdRecordedPayments). */
function holdsRecorded(deps: Deps, mode: Principal['mode']): boolean {
  const hold = deps.settings.holdRecordedPayments;
  return hold === 'all' || (hold === 'live' && mode === 'live');
}

/**
 * Records money received outside the ledger (the external rail; test mode's simulated
 * payment). Idempotent by `reference`: the same reference for the same request and amount
 * answers the first payment. Partial payments accumulate in `amountPaid`; the request is
 * `paid` once fully paid. The payee account is credited from the system `external` account.
 * A payment for a request no longer payable is recorded with status `requires_refund` and
 * moves no money (docs/api.md).
 *
 * Recording is minting: the payee's balance grows by what the caller says arrived, and it can be
 * spent at once. Where `PAYREQ_HOLD_RECORDED_PAYMENTS` holds the mode, the payment is stored
 * `held` instead: nothing moves and the request is unchanged until a key with `payments:confirm`
 * confirms it ({@link confirmRecordedPayment}).
 * Needs `payments:record` over the payee side.
 * @returns the payment, its request after the change, and whether it was already recorded.
 * @throws DomainError `payment_reference_conflict`, `currency_mismatch`, `invalid_amount`,
 *   `amount_too_large`, `forbidden`, `payment_request_not_found`.
 */
export function recordPayment(deps: Deps, principal: Principal, id: string, input: RecordPaymentInput): Promise<{ payment: Payment; paymentRequest: PaymentRequest; replayed: boolean }> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    authorize(principal, pr, 'payments:record', 'payee');
    const currencyCode = input.currency ?? pr.currency;
    const option = pr.paymentOptions.find((o) => o.currency === currencyCode);
    if (!option) throw fieldError('currency', `${currencyCode} is not a payment option of this request`, 'currency_mismatch');
    const amount = parseAmount(input.amount, deps.currencies.get(currencyCode).exponent);
    const existing = await findPaymentByReference(tx, pr.orgId, pr.mode, 'external', input.reference);
    if (existing) {
      if (existing.paymentRequestId === pr.id && existing.amount === amount && existing.currency === currencyCode) {
        return { payment: existing, paymentRequest: pr, replayed: true };
      }
      throw fieldError('reference', `reference "${input.reference}" was already recorded for another payment`, 'payment_reference_conflict');
    }
    const payment = newPayment(pr, { rail: 'external', currency: currencyCode, amount, appliedAmount: 0n, reference: input.reference, payerAccountId: null, status: 'held', chain: null }, now);
    if (holdsRecorded(deps, pr.mode)) {
      // Checked now as at confirmation, so that a payment held is one that can be applied.
      if (pr.status === 'pending' && appliedShare(pr, option, amount) === 0n) throw fieldError('amount', 'the amount is too small to count towards the request', 'invalid_amount');
      await insertPayment(tx, payment);
      return { payment, paymentRequest: pr, replayed: false };
    }
    return applyRecordedPayment(tx, deps, principal, pr, payment, now, 'insert');
  });
}

/**
 * Applies a recorded payment to `pr` at `now`: to a payable request, the transfer external →
 * payee (none for a wallet payee) and `receive_payment`; to one no longer payable, status
 * `requires_refund` and no money moved. `write` says whether the payment row is new or a held one
 * now confirmed.
 */
async function applyRecordedPayment(tx: Tx, deps: Deps, principal: Principal, pr: PaymentRequest, held: Payment, now: number, write: 'insert' | 'confirm'): Promise<{ payment: Payment; paymentRequest: PaymentRequest; replayed: boolean }> {
  const option = pr.paymentOptions.find((o) => o.currency === held.currency);
  if (!option) throw new Error(`payment ${held.id} is in ${held.currency}, which is no payment option of ${pr.id}`);
  const { amount, currency: currencyCode } = held;
  // A payment in an option's currency counts for its share of the invoice, rounded down.
  const applied = appliedShare(pr, option, amount);
  const payable = pr.status === 'pending';
  if (payable && applied === 0n) throw fieldError('amount', 'the amount is too small to count towards the request', 'invalid_amount');
  const payment: Payment = { ...held, appliedAmount: payable ? applied : 0n, status: payable ? 'applied' : 'requires_refund' };
  if (write === 'insert') await insertPayment(tx, payment);
  else await setPaymentApplied(tx, payment.id, payment.status, payment.appliedAmount);
  const extras = { payment: presentPayment(payment, pr.currency, deps.currencies) };
  if (!payable) {
    const next = await saveTransition(tx, deps, pr, recordUnappliedPayment(pr, payment.id, now), now, extras);
    return { payment, paymentRequest: next, replayed: false };
  }
  // A wallet payee was paid at its own address: the ledger holds none of it.
  const payeeAccount = await findAccount(tx, pr.orgId, pr.mode, pr.payeeAccountId);
  if (payeeAccount && isWallet(payeeAccount)) {
    const result = transition(pr, { type: 'receive_payment', payment: { id: payment.id, appliedAmount: applied } }, now, principal.keyId);
    return { payment, paymentRequest: await saveTransition(tx, deps, pr, result, now, extras), replayed: false };
  }
  const external = await systemAccount(tx, pr.orgId, pr.mode, currencyCode, 'external', now);
  const postings = await movementPostings(
    tx,
    pr.orgId,
    pr.mode,
    { accountId: external.id, currency: currencyCode, amount },
    { accountId: pr.payeeAccountId, currency: pr.currency, amount: applied },
    now,
  );
  await transfer(tx, { orgId: pr.orgId, mode: pr.mode, kind: 'external_payment', paymentRequestId: pr.id, postings, now });
  const result = transition(pr, { type: 'receive_payment', payment: { id: payment.id, appliedAmount: applied } }, now, principal.keyId);
  const next = await saveTransition(tx, deps, pr, result, now, extras);
  return { payment, paymentRequest: next, replayed: false };
}

/**
 * Confirms a payment held under `PAYREQ_HOLD_RECORDED_PAYMENTS` (found by its `reference`): it is
 * applied now as {@link recordPayment} would have applied it, crediting the payee from the system
 * `external` account, or, if the request is no longer payable, marked `requires_refund` with no
 * money moved. Confirming a payment that is no longer held answers it unchanged (`replayed`).
 * Needs `payments:confirm` over the payee side (`payments:record` alone never confirms).
 * @throws DomainError `forbidden`, `payment_request_not_found`, `validation_failed` (no payment
 *   with this reference on the request), `invalid_amount`, `amount_too_large`, `insufficient_funds`.
 */
export function confirmRecordedPayment(deps: Deps, principal: Principal, id: string, input: { reference: string }): Promise<{ payment: Payment; paymentRequest: PaymentRequest; replayed: boolean }> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    authorize(principal, pr, 'payments:confirm', 'payee');
    const payment = await findPaymentByReference(tx, pr.orgId, pr.mode, 'external', input.reference);
    if (!payment || payment.paymentRequestId !== pr.id) throw fieldError('reference', `no payment with reference "${input.reference}" was recorded for this payment request`);
    if (payment.status !== 'held') return { payment, paymentRequest: pr, replayed: true };
    return applyRecordedPayment(tx, deps, principal, pr, payment, now, 'confirm');
  });
}

