/**
 * Ending a pending request by a party's choice: the payee cancels it, the payer declines it.
 * A repeat by the same key answers the request unchanged. docs/api.md, "The state machine".
 */
import type { Permission } from '../../domain/grants.js';
import { type Command, isRepeat, type PaymentRequest, transition } from '../../domain/payment-request.js';
import type { Deps, Principal } from '../deps.js';
import { authorize } from './access.js';
import { runCommand, saveTransition } from './commands.js';

async function simpleCommand(deps: Deps, principal: Principal, id: string, command: Command & { type: 'cancel' | 'decline' }, permission: Permission, side: 'payee' | 'payer'): Promise<PaymentRequest> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    authorize(principal, pr, permission, side);
    if (isRepeat(pr, command.type, principal.keyId)) return pr;
    return saveTransition(tx, deps, pr, transition(pr, command, now, principal.keyId), now);
  });
}

/**
 * The payee cancels a pending request. A repeat by the same key answers the request unchanged.
 * Needs `payment_requests:cancel` over the payee side.
 * @throws DomainError `invalid_transition` (details `{currentStatus}`), `forbidden`, `payment_request_not_found`.
 */
export function cancelPaymentRequest(deps: Deps, principal: Principal, id: string): Promise<PaymentRequest> {
  return simpleCommand(deps, principal, id, { type: 'cancel' }, 'payment_requests:cancel', 'payee');
}

/**
 * The payer declines a pending request (DeltaPay's reject). Needs `payment_requests:pay` over
 * the payer side (generally, for an open request).
 * @throws DomainError `invalid_transition`, `forbidden`, `payment_request_not_found`.
 */
export function declinePaymentRequest(deps: Deps, principal: Principal, id: string): Promise<PaymentRequest> {
  return simpleCommand(deps, principal, id, { type: 'decline' }, 'payment_requests:pay', 'payer');
}

