/**
 * Settlement from the ledger: the payer approves a request and pays all of it from a ledger
 * account (`pending → processing → paid`), or pays all or part of it in one step. Each moves the
 * money payer → payee (through the system FX accounts for a payment option in another currency)
 * in the same transaction as the request's change. docs/api.md, "The state machine".
 */
import type { Account } from '../../domain/entities.js';
import { fieldError, isDomainError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import { parseAmount } from '../../domain/money.js';
import { appliedShare } from '../../domain/payment-options.js';
import { assertAllowed, isRepeat, owedInOption, type PaymentRequest, transition } from '../../domain/payment-request.js';
import { newPayment, type Payment } from '../../domain/payment.js';
import { findPaymentByReference, insertPayment } from '../../db/payment.repository.js';
import type { Tx } from '../../db/store.js';
import { movementPostings, transfer } from '../../rails/ledger.js';
import type { Deps, Principal } from '../deps.js';
import { presentPayment } from '../present.js';
import { payerAccountOf } from './access.js';
import { runCommand, saveTransition, saveTransitions } from './commands.js';

/**
 * Pays what is still owed on `pr` from the payer's ledger account; `payee` is the payee's account
 * as read in this transaction (the transfer reads it no more).
 * @throws DomainError `currency_mismatch` (the account's currency is no payment option),
 *   `insufficient_funds`, `account_closed` (from the ledger), `amount_too_large`.
 */
async function settleFromLedger(tx: Tx, deps: Deps, pr: PaymentRequest, payer: Account, payee: Account, now: number): Promise<Payment> {
  const remaining = pr.amount - pr.amountPaid;
  const option = pr.paymentOptions.find((o) => o.currency === payer.currency);
  if (!option) throw fieldError('accountId', `the account holds ${payer.currency}, which is not a payment option of this request`, 'currency_mismatch');
  // The payer pays the option's share of what is still owed, rounded up (the payee never gets less).
  const payAmount = owedInOption(pr, option);
  const postings = await movementPostings(
    tx,
    pr.orgId,
    pr.mode,
    { accountId: payer.id, currency: payer.currency, amount: payAmount },
    { accountId: pr.payeeAccountId, currency: pr.currency, amount: remaining },
    now,
  );
  const transferId = await transfer(tx, { orgId: pr.orgId, mode: pr.mode, kind: 'payment', paymentRequestId: pr.id, postings, now, known: [payer, payee] });
  const payment = newPayment(pr, { rail: 'ledger', currency: payer.currency, amount: payAmount, appliedAmount: remaining, reference: transferId, payerAccountId: payer.id, status: 'applied', chain: null }, now);
  await insertPayment(tx, payment);
  return payment;
}

/** Options of {@link approvePaymentRequest}. */
export interface ApproveOptions {
  /**
   * When the request names its payer and the paying account holds too little, end the request
   * `failed` (`failureReason: insufficient_funds`) instead of refusing: DeltaPay's documented
   * outcome of an approval without funds (docs/dialects/deltapay.md). Off on `/v1`.
   */
  failWhenShort?: boolean;
}

/**
 * The payer approves and pays from a ledger account: `pending → processing → paid` and the
 * transfer payer → payee, in one transaction. An account in a payment option's currency pays
 * the quoted amount through the system FX accounts. An open request (no payer) takes the paying
 * account as its payer, so the approver may read what it paid for (as {@link payFromAccount}).
 *
 * A refusal from the payer's side (the account's currency is no payment option, the account is
 * closed, or it holds too little) writes nothing and leaves the request `pending`, so that a
 * wrong or empty account can neither end someone else's open request nor learn more of it than
 * the refusal (docs/api.md, "Approve"). With {@link ApproveOptions.failWhenShort} a named payer's
 * shortfall ends the request `failed` instead. A repeat by the same key answers the request unchanged.
 * Needs `payment_requests:pay` over the paying account or its party.
 * @throws DomainError `currency_mismatch` (422), `account_closed` (409), `insufficient_funds`
 *   (409), `amount_too_large`, `invalid_transition`, `account_not_found`, `account_not_allowed`
 *   (not the request's payer), `forbidden`, `payment_request_not_found`.
 */
export function approvePaymentRequest(deps: Deps, principal: Principal, id: string, input: { accountId: string }, options: ApproveOptions = {}): Promise<PaymentRequest> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    const { account, payee } = await payerAccountOf(tx, principal, pr, input.accountId);
    if (isRepeat(pr, 'approve', principal.keyId)) return pr;
    // pending → processing → paid in one transaction, written once at the end.
    const processing = transition(pr, { type: 'approve' }, now, principal.keyId);
    if (pr.payerAccountId === null && pr.payerPartyId === null) {
      processing.request.payerAccountId = account.id;
      processing.request.payerPartyId = account.partyId;
    }
    let payment: Payment;
    try {
      payment = await settleFromLedger(tx, deps, processing.request, account, payee, now);
    } catch (err) {
      const named = pr.payerAccountId !== null || pr.payerPartyId !== null;
      if (options.failWhenShort === true && named && isDomainError(err, 'insufficient_funds')) {
        return saveTransitions(tx, deps, pr, [processing, transition(processing.request, { type: 'fail', reason: 'insufficient_funds' }, now, principal.keyId)], now);
      }
      throw err;
    }
    const extras = { payment: presentPayment(payment, pr.currency, deps.currencies) };
    const settled = transition(processing.request, { type: 'settle', payment: { id: payment.id, appliedAmount: payment.appliedAmount } }, now, principal.keyId);
    return saveTransitions(tx, deps, pr, [processing, settled], now, extras);
  });
}


/** Input for {@link payFromAccount}. */
export interface PayFromAccountInput {
  accountId: string;
  /** A decimal string in the account's currency (a payment option's); default: all that is still owed in it. */
  amount?: string | undefined;
  /** The caller's idempotency reference (Centrapay's `idempotencyKey`); default: the ledger transfer's id. */
  reference?: string | undefined;
}

/**
 * The payer pays from a ledger account in one step, all that is owed or part of it (Centrapay's
 * pay, partial payments included): the transfer payer → payee and `receive_payment` in one
 * transaction; the request stays `pending` until fully paid. An open request (no payer) takes
 * the paying account as its payer. Unlike {@link approvePaymentRequest}
 * a refusal (too little money) stores nothing and leaves the request payable. Idempotent by
 * `reference`: the same reference for the same request answers the first payment.
 * Needs `payment_requests:pay` over the paying account or its party.
 * @returns the payment, the request after it, and whether it was already recorded.
 * @throws DomainError `insufficient_funds`, `account_closed`, `currency_mismatch` (the account's
 *   currency is no payment option), `invalid_amount` (more than is owed, or too little to count),
 *   `payment_reference_conflict`, `invalid_transition`, the errors of the account checks
 *   (`account_not_found`, `account_not_allowed`, `forbidden`), `payment_request_not_found`.
 */
export function payFromAccount(deps: Deps, principal: Principal, id: string, input: PayFromAccountInput): Promise<{ payment: Payment; paymentRequest: PaymentRequest; replayed: boolean }> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    const { account } = await payerAccountOf(tx, principal, pr, input.accountId);
    if (input.reference !== undefined) {
      const existing = await findPaymentByReference(tx, pr.orgId, pr.mode, 'ledger', input.reference);
      if (existing && existing.paymentRequestId === pr.id) return { payment: existing, paymentRequest: pr, replayed: true };
      if (existing) throw fieldError('reference', `reference "${input.reference}" was already used for another payment`, 'payment_reference_conflict');
    }
    assertAllowed(pr, 'receive_payment', now);
    const option = pr.paymentOptions.find((o) => o.currency === account.currency);
    if (!option) throw fieldError('accountId', `the account holds ${account.currency}, which is not a payment option of this request`, 'currency_mismatch');
    const owed = owedInOption(pr, option);
    const amount = input.amount === undefined ? owed : parseAmount(input.amount, deps.currencies.get(account.currency).exponent, { path: 'amount' });
    if (amount > owed) throw fieldError('amount', 'the amount is more than is still owed in this currency', 'invalid_amount');
    const remaining = pr.amount - pr.amountPaid;
    // All that is owed settles the rest exactly; a part counts for its share, rounded down.
    const applied = amount === owed ? remaining : appliedShare(pr, option, amount);
    if (applied <= 0n) throw fieldError('amount', 'the amount is too small to count towards the request', 'invalid_amount');
    const paymentId = newId();
    const result = transition(pr, { type: 'receive_payment', payment: { id: paymentId, appliedAmount: applied } }, now, principal.keyId);
    // An open request becomes the paying party's: it sees the request from now on, and its
    // later parts come from it.
    if (pr.payerAccountId === null && pr.payerPartyId === null) {
      result.request.payerAccountId = account.id;
      result.request.payerPartyId = account.partyId;
    }
    const postings = await movementPostings(
      tx,
      pr.orgId,
      pr.mode,
      { accountId: account.id, currency: account.currency, amount },
      { accountId: pr.payeeAccountId, currency: pr.currency, amount: applied },
      now,
    );
    const transferId = await transfer(tx, { orgId: pr.orgId, mode: pr.mode, kind: 'payment', paymentRequestId: pr.id, postings, now });
    const payment = newPayment(
      pr,
      { id: paymentId, rail: 'ledger', currency: account.currency, amount, appliedAmount: applied, reference: input.reference ?? transferId, payerAccountId: account.id, status: 'applied', chain: null },
      now,
    );
    await insertPayment(tx, payment);
    const next = await saveTransition(tx, deps, pr, result, now, { payment: presentPayment(payment, pr.currency, deps.currencies) });
    return { payment, paymentRequest: next, replayed: false };
  });
}

