/**
 * Reading payment requests: one by id (a due request is expired first, so a reader never sees
 * a stale `pending`), one about to be paid, the lists a key may see, a party's incoming and
 * outgoing requests, and a request's events. docs/api.md.
 */
import type { StoredEvent } from '../../domain/entities.js';
import { DomainError, fieldError } from '../../domain/errors.js';
import { canSee, paymentRequestVisibility } from '../../domain/grants.js';
import { isUuid } from '../../domain/ids.js';
import { isDue, type PaymentRequest, type PaymentRequestStatus } from '../../domain/payment-request.js';
import { listEventsOfPaymentRequest } from '../../db/event.repository.js';
import { findParty } from '../../db/party.repository.js';
import { findPaymentRequest, listPaymentRequests as listRows, type PaymentRequestFilter } from '../../db/payment-request.repository.js';
import type { Deps, Principal } from '../deps.js';
import { type Page, toPage } from '../pagination.js';
import { canSeeParty } from '../parties.js';
import { notFound, scopeOf } from './access.js';
import { expireNow, retryStale } from './commands.js';

/**
 * Reads a payment request the key may see. A pending request past its expiry is expired
 * (persisted, with its event) before it is returned.
 * @throws DomainError `payment_request_not_found`.
 */
export async function getPaymentRequest(deps: Deps, principal: Principal, id: string): Promise<PaymentRequest> {
  if (!isUuid(id)) throw notFound(id);
  let pr = await findPaymentRequest(deps.store, principal.orgId, principal.mode, id);
  if (!pr || !canSee(principal.grants, scopeOf(pr, 'both'))) throw notFound(id);
  if (isDue(pr, deps.clock())) {
    await retryStale(() => expireNow(deps, principal.orgId, principal.mode, id));
    pr = await findPaymentRequest(deps.store, principal.orgId, principal.mode, id);
    if (!pr) throw notFound(id);
  }
  return pr;
}

/**
 * Reads a request for a payer about to pay it: one the key may see, or an open one (no payer:
 * "whoever holds its link pays", docs/api.md) when the key may pay from some account or party.
 * @throws DomainError `payment_request_not_found`.
 */
export async function getPaymentRequestToPay(deps: Deps, principal: Principal, id: string): Promise<PaymentRequest> {
  if (!isUuid(id)) throw notFound(id);
  const pr = await findPaymentRequest(deps.store, principal.orgId, principal.mode, id);
  const open = pr !== undefined && pr.payerAccountId === null && pr.payerPartyId === null;
  if (!pr || !(canSee(principal.grants, scopeOf(pr, 'both')) || (open && principal.grants.some((g) => g.permission === 'payment_requests:pay' || g.permission === 'admin')))) throw notFound(id);
  return isDue(pr, deps.clock()) ? getPaymentRequest(deps, principal, id) : pr;
}

/**
 * Lists the payment requests the key may see, most recent first.
 * @param page - `limit` 1–100; `cursor` is a `nextCursor` from an earlier page.
 * @throws DomainError `invalid_cursor`.
 */
export async function listPaymentRequests(deps: Deps, principal: Principal, filter: PaymentRequestFilter, page: { limit: number; cursor?: string | undefined }): Promise<Page<PaymentRequest>> {
  if (page.cursor !== undefined && !isUuid(page.cursor)) throw fieldError('cursor', 'cursor must be a nextCursor from an earlier page', 'invalid_cursor');
  const rows = await listRows(deps.store, principal.orgId, principal.mode, filter, paymentRequestVisibility(principal.grants), page, deps.clock());
  return toPage(rows, page.limit);
}

/**
 * A party's incoming (the party pays) or outgoing (the party is paid) requests: DeltaPay's
 * incoming/outgoing lists, Pismo's `to`/`from`.
 * @throws DomainError `party_not_found`, `invalid_cursor`.
 */
export async function listPartyPaymentRequests(
  deps: Deps,
  principal: Principal,
  partyId: string,
  direction: 'incoming' | 'outgoing',
  status: PaymentRequestStatus | undefined,
  page: { limit: number; cursor?: string | undefined },
): Promise<Page<PaymentRequest>> {
  const party = isUuid(partyId) ? await findParty(deps.store, principal.orgId, principal.mode, { id: partyId }) : undefined;
  const visible = party && (canSeeParty(principal, party.id) || paymentRequestVisibility(principal.grants) === 'all' || canSee(principal.grants, { accountIds: [], partyIds: [party.id] }));
  if (!party || !visible) throw new DomainError('party_not_found', `party ${partyId} does not exist`);
  return listPaymentRequests(deps, principal, { party: { id: party.id, direction }, status }, page);
}

/**
 * A request's events in `sequence` order.
 * @throws DomainError `payment_request_not_found`.
 */
export async function listPaymentRequestEvents(deps: Deps, principal: Principal, id: string): Promise<StoredEvent[]> {
  const pr = await getPaymentRequest(deps, principal, id);
  return listEventsOfPaymentRequest(deps.store, pr.id);
}
