/**
 * Who may do what on a payment request: the key's grants over the request's payee and payer
 * sides (src/domain/grants.ts), and which ledger account a key may pay a request from. A key
 * that cannot see a request at all learns nothing of it: it gets `payment_request_not_found`.
 */
import type { Account } from '../../domain/entities.js';
import { DomainError, fieldError } from '../../domain/errors.js';
import { allows, canSee, type Permission, type Scope } from '../../domain/grants.js';
import { isUuid } from '../../domain/ids.js';
import type { PaymentRequest } from '../../domain/payment-request.js';
import { findAccounts } from '../../db/account.repository.js';
import type { Db } from '../../db/store.js';
import { canSeeAccount, isWallet } from '../accounts.js';
import type { Principal } from '../deps.js';

/** The error for a request that does not exist or that the key may not see (404). */
export function notFound(id: string): DomainError {
  return new DomainError('payment_request_not_found', `payment request ${id} does not exist`);
}

/** The accounts and parties of the request's payee side, payer side, or both, as a grant scope. */
export function scopeOf(pr: PaymentRequest, side: 'payee' | 'payer' | 'both'): Scope {
  const payee = side !== 'payer';
  const payer = side !== 'payee';
  return {
    accountIds: [payee ? pr.payeeAccountId : null, payer ? pr.payerAccountId : null],
    partyIds: [payee ? pr.payeePartyId : null, payer ? pr.payerPartyId : null],
  };
}

/**
 * Throws 404 when the key cannot see the request at all, 403 when it sees it but lacks `permission` on `side`.
 * @throws DomainError `payment_request_not_found`, `forbidden`.
 */
export function authorize(principal: Principal, pr: PaymentRequest, permission: Permission, side: 'payee' | 'payer'): void {
  if (allows(principal.grants, permission, scopeOf(pr, side))) return;
  if (canSee(principal.grants, scopeOf(pr, 'both'))) {
    throw new DomainError('forbidden', `this API key may not do this on the payment request (needs ${permission})`);
  }
  throw notFound(pr.id);
}

/**
 * The ledger account `accountId` when the key may pay the request from it: an open party
 * ledger account the key holds `payments_requests:pay` over, the request's payer (when it names
 * one) and not its payee.
 * @throws DomainError `payment_request_not_found` (the key sees neither the request nor the
 *   account), `forbidden`, `account_not_found`, `account_not_allowed` (a wallet, the payee, or not
 *   the request's payer).
 */
export async function payerAccountOf(tx: Db, principal: Principal, pr: PaymentRequest, accountId: string): Promise<{ account: Account; payee: Account }> {
  const visible = canSee(principal.grants, scopeOf(pr, 'both'));
  // The paying account and the payee's, in one read.
  const read = await findAccounts(tx, pr.orgId, pr.mode, isUuid(accountId) ? [accountId, pr.payeeAccountId] : [pr.payeeAccountId]);
  const account = read.find((a) => a.id === accountId);
  const payee = read.find((a) => a.id === pr.payeeAccountId);
  if (!account || account.systemPurpose !== null || !allows(principal.grants, 'payment_requests:pay', { accountIds: [account.id], partyIds: [account.partyId] })) {
    if (!visible && !(account && canSeeAccount(principal, account))) throw notFound(pr.id);
    if (account && account.systemPurpose === null && canSeeAccount(principal, account)) {
      throw new DomainError('forbidden', 'this API key may not pay from this account (needs payment_requests:pay)');
    }
    throw fieldError('accountId', `account ${accountId} does not exist`, 'account_not_found');
  }
  if (!payee) throw new Error(`payment request ${pr.id} names payee account ${pr.payeeAccountId}, which does not exist`);
  if (isWallet(account) || isWallet(payee)) {
    throw fieldError('accountId', 'a wallet account pays and is paid on chain (GET /v1/payment-requests/{id}/pay), never from the ledger', 'account_not_allowed');
  }
  const wrongPayer =
    account.id === pr.payeeAccountId ||
    (pr.payerAccountId !== null && pr.payerAccountId !== account.id) ||
    (pr.payerPartyId !== null && pr.payerPartyId !== account.partyId);
  if (wrongPayer) {
    if (!visible) throw notFound(pr.id);
    throw fieldError('accountId', 'this account is not the payer of the payment request', 'account_not_allowed');
  }
  return { account, payee };
}

