/**
 * The live event stream behind `GET /v1/events/stream` (DeltaPay's push notification: a payer's
 * app shows an incoming request at once). Streams read committed events from the database, so
 * they see events written by any process.
 *
 * One {@link EventFeed} per process reads for all of its streams: one query per org and mode
 * with open streams, per poll tick (and per commit in this process, which wakes it at once),
 * however many streams are open, and each event is handed to every stream whose filter wants it.
 * A stream resuming with `Last-Event-ID` first catches up on its own, then joins the feed.
 *
 * Order and completeness: events are read in (created_at, id) order. A transaction that began
 * earlier can commit later than one that began after it, so every read looks back
 * {@link LOOKBACK_MS} behind the newest event seen and skips what it already sent: a late
 * commit is still streamed. On resume (`Last-Event-ID`) the stream continues after that event.
 */
import type { StoredEvent } from '../domain/entities.js';
import { DomainError } from '../domain/errors.js';
import { allowsGenerally, paymentRequestVisibility } from '../domain/grants.js';
import { isUuid } from '../domain/ids.js';
import type { EventType } from '../domain/payment-request.js';
import { findEventById, listEventsInOrder } from '../db/event.repository.js';
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

/** A subscriber's view of the feed: events after its floor, in order, each once. */
interface Subscriber {
  floor: { createdAt: number; id: string };
  deliver(event: StoredEvent): void;
}

const after = (event: StoredEvent, floor: { createdAt: number; id: string }) => event.createdAt > floor.createdAt || (event.createdAt === floor.createdAt && event.id > floor.id);

/**
 * Reads one org and mode's events in order from `floor` on, with the look-back that catches late
 * commits, handing each new event to `emit` once.
 */
class OrgReader {
  private readonly sent = new Map<string, number>();
  private newest: number;

  constructor(
    private readonly deps: Pick<Deps, 'store'>,
    private readonly orgId: string,
    private readonly mode: Principal['mode'],
    private readonly floor: { createdAt: number; id: string },
    private readonly emit: (event: StoredEvent) => void,
  ) {
    this.newest = floor.createdAt;
  }

  /** Reads until it has caught up. */
  async read(): Promise<void> {
    for (;;) {
      const since = Math.max(this.floor.createdAt, this.newest - LOOKBACK_MS);
      const rows = await listEventsInOrder(this.deps.store, this.orgId, this.mode, { since, limit: BATCH + this.sent.size });
      let fresh = 0;
      for (const event of rows) {
        if (this.sent.has(event.id) || !after(event, this.floor)) continue;
        this.sent.set(event.id, event.createdAt);
        fresh += 1;
        if (event.createdAt > this.newest) this.newest = event.createdAt;
        this.emit(event);
      }
      for (const [id, createdAt] of this.sent) if (createdAt < this.newest - LOOKBACK_MS) this.sent.delete(id);
      if (rows.length < BATCH + this.sent.size || fresh === 0) return;
    }
  }
}

/**
 * The process's one reader of events for its live streams: a reader per org and mode that has
 * subscribers, read every `pollIntervalMs` and whenever this process commits events. Reads never
 * overlap; a wake-up during a read runs one more read after it.
 */
export class EventFeed {
  private readonly groups = new Map<string, { reader: OrgReader; subscribers: Set<Subscriber> }>();
  private timer: NodeJS.Timeout | undefined;
  private reading = false;
  private again = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly deps: Pick<Deps, 'store' | 'clock'>,
    private readonly pollIntervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.unsubscribe = deps.store.onEventsCommitted(() => void this.wake());
  }

  /** Adds a subscriber to `orgId`/`mode`'s events; returns the function that removes it. */
  subscribe(orgId: string, mode: Principal['mode'], subscriber: Subscriber): () => void {
    const key = `${orgId}/${mode}`;
    let group = this.groups.get(key);
    if (!group) {
      const subscribers = new Set<Subscriber>();
      const reader = new OrgReader(this.deps, orgId, mode, { createdAt: this.deps.clock() - LOOKBACK_MS, id: '' }, (event) => {
        for (const s of subscribers) if (after(event, s.floor)) s.deliver(event);
      });
      group = { reader, subscribers };
      this.groups.set(key, group);
    }
    group.subscribers.add(subscriber);
    this.timer ??= setInterval(() => void this.wake(), this.pollIntervalMs);
    return () => {
      const g = this.groups.get(key);
      g?.subscribers.delete(subscriber);
      if (g && g.subscribers.size === 0) this.groups.delete(key);
      if (this.groups.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  /** Reads every group now (or once more after the read in progress). */
  async wake(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    try {
      do {
        this.again = false;
        for (const group of [...this.groups.values()]) {
          try {
            await group.reader.read();
          } catch (err) {
            this.onError(err);
          }
        }
      } while (this.again);
    } finally {
      this.reading = false;
    }
  }

  /** Stops reading (the server is closing). */
  close(): void {
    this.unsubscribe();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.groups.clear();
  }
}

/**
 * Opens a stream for `principal` on the process's `feed`.
 * @param lastEventId - the `Last-Event-ID` to resume after, if any: the stream first reads on
 *   its own from that event to the present, then joins the feed; events the feed hands it
 *   meanwhile are held and sent after, each once.
 * @param send - called with each event to stream, in order.
 * @returns the function that closes the stream.
 * @throws DomainError `party_not_found` (a party the key cannot see), `event_not_found` (an unknown Last-Event-ID).
 */
export async function openEventStream(deps: Deps, feed: EventFeed, principal: Principal, filter: StreamFilter, lastEventId: string | undefined, send: (event: StoredEvent) => void): Promise<() => void> {
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

  const wanted = (event: StoredEvent): boolean => {
    if (filter.types !== undefined && filter.types.length > 0 && !filter.types.includes(event.type)) return false;
    const s = sides(event);
    if (!s) return seesOrgEvents && filter.partyId === undefined;
    if (filter.partyId !== undefined && !s.parties.includes(filter.partyId)) return false;
    if (visibility === 'all') return true;
    return s.accounts.some((a) => a != null && visibility.accountIds.includes(a)) || s.parties.some((p) => p != null && visibility.partyIds.includes(p));
  };
  // Each event once, even where the catch-up and the feed overlap.
  const seen = new Map<string, number>();
  let newest = floor.createdAt;
  const emit = (event: StoredEvent) => {
    if (seen.has(event.id)) return;
    seen.set(event.id, event.createdAt);
    if (event.createdAt > newest) newest = event.createdAt;
    for (const [id, createdAt] of seen) {
      if (createdAt >= newest - 2 * LOOKBACK_MS) break;
      seen.delete(id);
    }
    if (wanted(event)) send(event);
  };
  if (lastEventId === undefined) return feed.subscribe(principal.orgId, principal.mode, { floor, deliver: emit });

  const held: StoredEvent[] = [];
  let catchingUp = true;
  const unsubscribe = feed.subscribe(principal.orgId, principal.mode, { floor, deliver: (event) => (catchingUp ? held.push(event) : emit(event)) });
  try {
    await new OrgReader(deps, principal.orgId, principal.mode, floor, emit).read();
  } catch (err) {
    unsubscribe();
    throw err;
  }
  catchingUp = false;
  for (const event of held) emit(event);
  return unsubscribe;
}

/** Caps on live streams open at once in one process; 0 turns a cap off. */
export interface StreamCaps {
  /** `/v1/events/stream` streams per API key. */
  perKey: number;
  /** `/v1/events/stream` streams per org (all its keys and modes together). */
  perOrg: number;
  /** `/pay/{code}/events` streams per client address. */
  perAddress: number;
}

/**
 * The `Retry-After` of a stream refused past its cap, in seconds: when a slot frees is the
 * client's own doing (closing another stream), so this only paces a client that retries blindly.
 */
export const STREAM_RETRY_AFTER_SECONDS = 5;

/**
 * Counts the live streams open in this process under named groups (`key:…`, `org:…`,
 * `address:…`) and refuses one that would take a group past its cap. The counts are per process,
 * not shared: with N processes behind a balancer a key may hold up to N times its cap, which is
 * still bounded, and a count that dies with its process never leaks.
 */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  /**
   * Takes a slot in each `[group, cap]` (cap 0: uncapped), all or none.
   * @returns the function that gives them back (idempotent).
   * @throws DomainError `too_many_streams` naming the first full group's kind, with
   *   `retryAfterSeconds` ({@link STREAM_RETRY_AFTER_SECONDS}), sent as `Retry-After`.
   */
  take(groups: readonly (readonly [group: string, cap: number, what: string])[]): () => void {
    for (const [group, cap, what] of groups) {
      if (cap > 0 && (this.open.get(group) ?? 0) >= cap) {
        throw new DomainError('too_many_streams', `at most ${cap} live streams may be open at once ${what}; close one first`, { details: { retryAfterSeconds: STREAM_RETRY_AFTER_SECONDS } });
      }
    }
    for (const [group] of groups) this.open.set(group, (this.open.get(group) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const [group] of groups) {
        const left = (this.open.get(group) ?? 1) - 1;
        if (left <= 0) this.open.delete(group);
        else this.open.set(group, left);
      }
    };
  }
}
