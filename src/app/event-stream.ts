/**
 * The live event stream behind `GET /v1/events/stream` (DeltaPay's push notification: a payer's
 * app shows an incoming request at once). A stream reads committed events from the database,
 * so it sees events written by any process; it is woken at once by commits in its own process
 * and polls for the others'.
 *
 * Order and completeness: events are read in (created_at, id) order. A transaction that began
 * earlier can commit later than one that began after it, so every read looks back
 * {@link LOOKBACK_MS} behind the newest event seen and skips what it already sent: a late
 * commit is still streamed. On resume (`Last-Event-ID`) the stream continues after that event.
 */
import { DomainError } from '../domain/errors.js';
import { allowsGenerally, paymentRequestVisibility } from '../domain/grants.js';
import { isUuid } from '../domain/ids.js';
import type { EventType } from '../domain/payment-request.js';
import { findEventById, listEventsInOrder, type StoredEvent } from '../db/event.repository.js';
import { findParty } from '../db/party.repository.js';
import type { Deps, Principal } from './deps.js';
import { canSeeParty } from './parties.js';

/** How far behind the newest event seen each read looks for late commits, in ms. */
export const LOOKBACK_MS = 5_000;
const BATCH = 500;

/** What a stream carries: events of these types (all when empty) touching this party (any when absent). */
export interface StreamFilter {
  partyId?: string | undefined;
  types?: EventType[] | undefined;
}

interface RequestSides {
  payee?: { accountId?: string; partyId?: string };
  payer?: { accountId?: string | null; partyId?: string | null } | null;
}

function sides(event: StoredEvent): { accounts: (string | null | undefined)[]; parties: (string | null | undefined)[] } | undefined {
  const pr = event.data['paymentRequest'] as RequestSides | undefined;
  if (!pr) return undefined;
  return { accounts: [pr.payee?.accountId, pr.payer?.accountId], parties: [pr.payee?.partyId, pr.payer?.partyId] };
}

/** A live stream's state. `poll()` sends what is new through `send`. */
export interface EventStream {
  poll(): Promise<void>;
}

/**
 * Opens a stream for `principal`.
 * @param lastEventId - the `Last-Event-ID` to resume after, if any.
 * @param send - called with each event to stream, in order.
 * @throws DomainError `party_not_found` (a party the key cannot see), `event_not_found` (an unknown Last-Event-ID).
 */
export async function openEventStream(deps: Deps, principal: Principal, filter: StreamFilter, lastEventId: string | undefined, send: (event: StoredEvent) => void): Promise<EventStream> {
  const visibility = paymentRequestVisibility(principal.grants);
  const seesOrgEvents = visibility === 'all' || allowsGenerally(principal.grants, 'webhooks:manage');
  if (filter.partyId !== undefined) {
    const party = isUuid(filter.partyId) ? await findParty(deps.store, principal.orgId, principal.mode, { id: filter.partyId }) : undefined;
    const visible = party && (visibility === 'all' || canSeeParty(principal, party.id) || visibility.partyIds.includes(party.id));
    if (!visible) throw new DomainError('party_not_found', `party ${filter.partyId} does not exist`);
  }
  // Where the stream starts: after the resumed event, or at this moment.
  let floor = { createdAt: deps.clock(), id: '' };
  if (lastEventId !== undefined) {
    const last = isUuid(lastEventId) ? await findEventById(deps.store, lastEventId) : undefined;
    if (!last || last.orgId !== principal.orgId || last.mode !== principal.mode) throw new DomainError('event_not_found', `event ${lastEventId} does not exist`);
    floor = { createdAt: last.createdAt, id: last.id };
  }
  const sent = new Map<string, number>();
  let newest = floor.createdAt;

  const wanted = (event: StoredEvent): boolean => {
    if (filter.types !== undefined && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
    const s = sides(event);
    if (!s) return seesOrgEvents && filter.partyId === undefined;
    if (filter.partyId !== undefined && !s.parties.includes(filter.partyId)) return false;
    if (visibility === 'all') return true;
    return s.accounts.some((a) => a != null && visibility.accountIds.includes(a)) || s.parties.some((p) => p != null && visibility.partyIds.includes(p));
  };

  return {
    async poll() {
      for (;;) {
        const since = Math.max(floor.createdAt, newest - LOOKBACK_MS);
        const rows = await listEventsInOrder(deps.store, principal.orgId, principal.mode, { since, limit: BATCH + sent.size });
        let fresh = 0;
        for (const event of rows) {
          if (sent.has(event.id)) continue;
          const afterFloor = event.createdAt > floor.createdAt || (event.createdAt === floor.createdAt && event.id > floor.id);
          if (!afterFloor) continue;
          sent.set(event.id, event.createdAt);
          fresh += 1;
          if (event.createdAt > newest) newest = event.createdAt;
          if (wanted(event)) send(event);
        }
        for (const [id, createdAt] of sent) if (createdAt < newest - LOOKBACK_MS) sent.delete(id);
        if (rows.length < BATCH + sent.size || fresh === 0) return;
      }
    },
  };
}
