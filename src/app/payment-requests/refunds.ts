/**
 * Refunds: what was paid and not refunded goes back, shared among the payments newest first
 * (src/domain/refunds.ts), through the ledger where the money is in it. docs/api.md, "Refunds".
 */
import { fieldError } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import { parseAmount } from '../../domain/money.js';
import { type PaymentRequest, transition } from '../../domain/payment-request.js';
import type { Refund } from '../../domain/payment.js';
import { allocateRefund, shareInPaymentCurrency } from '../../domain/refunds.js';
import { findAccount, systemAccount } from '../../db/account.repository.js';
import { isUniqueViolation } from '../../db/errors.js';
import { findRefundByReference, insertRefund, listPayments, setPaymentRefunded } from '../../db/payment.repository.js';
import { movementPostings, type Posting, transfer } from '../../rails/ledger.js';
import { isWallet } from '../accounts.js';
import type { Deps, Principal } from '../deps.js';
import { presentRefund } from '../present.js';
import { authorize } from './access.js';
import { runCommand, saveTransition, StaleWrite } from './commands.js';

/**
 * Refunds `amount` (decimal string in the request's currency) of a paid request, within the
 * refund window after `paidAt`, or of a request that ended (cancelled, declined, expired,
 * failed) holding money paid towards it, with no window and its status kept: what was paid and
 * not refunded (`amountPaid − amountRefunded`) can always go back (docs/api.md, "Refunds"). The refund is taken from the payee account and allocated to
 * the payments newest first: a ledger payment's share goes back to its payer account (through
 * FX at the original quote, rounded down, when it was paid in another currency); an external
 * payment's share goes to the system `external` account, for the operator to send out.
 * Money that moved in the ledger completes the refund at once (`refund.completed` follows
 * `refund.created`); money paid on chain is sent back by the payee itself, so its refund is
 * recorded only. A full refund moves the request to `refunded`. With `reference`, a repeat of
 * the same refund (same reference and amount) answers the first one (`replayed`).
 * Needs `refunds:create` over the payee side.
 * @throws DomainError `invalid_amount`, `refund_exceeds_paid`, `refund_window_closed`,
 *   `invalid_transition`, `insufficient_funds` (the payee account holds too little),
 *   `refund_reference_conflict` (the reference was used for another amount), `forbidden`,
 *   `payment_request_not_found`.
 */
export function refundPaymentRequest(
  deps: Deps,
  principal: Principal,
  id: string,
  input: { amount: string; reason?: string | undefined; reference?: string | undefined },
): Promise<{ refund: Refund; paymentRequest: PaymentRequest; replayed: boolean }> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    authorize(principal, pr, 'refunds:create', 'payee');
    const amount = parseAmount(input.amount, deps.currencies.get(pr.currency).exponent);
    if (input.reference !== undefined) {
      const existing = await findRefundByReference(tx, pr.id, input.reference);
      if (existing?.amount === amount) return { refund: existing, paymentRequest: pr, replayed: true };
      if (existing) throw fieldError('reference', `reference "${input.reference}" was already used for a refund of another amount`, 'refund_reference_conflict');
    }
    const refund: Refund = { id: newId(), orgId: pr.orgId, mode: pr.mode, paymentRequestId: pr.id, amount, reason: input.reason ?? null, createdBy: principal.keyId, createdAt: now, reference: input.reference ?? null };

    // Allocate the refund to the payments, newest first.
    const { allocations, unallocated: left } = allocateRefund(await listPayments(tx, pr.id), amount);
    const payeeAccount = await findAccount(tx, pr.orgId, pr.mode, pr.payeeAccountId);
    const payeeHoldsNothing = payeeAccount !== undefined && isWallet(payeeAccount);
    // Money paid on chain, or to a wallet payee, never entered the ledger: the payee sends the
    // refund back itself (Payreq holds no keys); the refund is recorded all the same.
    const settled = !payeeHoldsNothing && allocations.length > 0 && allocations.every((a) => a.payment.rail !== 'evm');
    const result = transition(pr, { type: 'refund', refund: { id: refund.id, amount }, refundWindowMs: deps.settings.refundWindowSeconds * 1000, settled }, now, principal.keyId);
    if (left !== 0n) throw new Error(`refund allocation left ${left} minor units unallocated`);

    const postings: Posting[] = [];
    for (const { payment: p, share } of allocations) {
      await setPaymentRefunded(tx, p.id, p.amountRefunded + share);
      if (p.rail === 'evm' || payeeHoldsNothing) continue;
      const from = { accountId: pr.payeeAccountId, currency: pr.currency, amount: share };
      if (p.rail === 'ledger' && p.payerAccountId !== null) {
        const back = shareInPaymentCurrency(p, share, pr.currency);
        postings.push(...(await movementPostings(tx, pr.orgId, pr.mode, from, { accountId: p.payerAccountId, currency: p.currency, amount: back }, now)));
      } else {
        const external = await systemAccount(tx, pr.orgId, pr.mode, pr.currency, 'external', now);
        postings.push(...(await movementPostings(tx, pr.orgId, pr.mode, from, { accountId: external.id, currency: pr.currency, amount: share }, now)));
      }
    }
    if (postings.length > 0) await transfer(tx, { orgId: pr.orgId, mode: pr.mode, kind: 'refund', paymentRequestId: pr.id, postings, now });
    try {
      await insertRefund(tx, refund);
    } catch (err) {
      if (isUniqueViolation(err, 'reference')) throw new StaleWrite();
      throw err;
    }
    const next = await saveTransition(tx, deps, pr, result, now, { refund: presentRefund(refund, pr.currency, deps.currencies) });
    return { refund, paymentRequest: next, replayed: false };
  });
}

