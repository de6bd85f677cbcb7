/** The event log: immutable rows written in the same transaction as the change they record. */
import type { StoredEvent, WebhookEndpoint } from '../domain/entities.js';
import type { EventType, Mode } from '../domain/payment-request.js';
import { preparedQuery } from './prepared.js';
import { enabledEndpointsQuery, listEndpoints, rowToEndpoint } from './webhook.repository.js';
import type { EventRow, NewEventRow } from './schema.js';
import { boxOf, type Db, type Tx } from './tx.js';

/** Maps a row to a {@link StoredEvent}. */
export function rowToEvent(row: EventRow): StoredEvent {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    paymentRequestId: row.payment_request_id,
    type: row.type as EventType,
    sequence: Number(row.sequence),
    data: JSON.parse(row.data) as Record<string, unknown>,
    createdAt: Number(row.created_at),
  };
}

/** The rows of `events`, noted in `tx.written` so the store announces them after the commit. */
function toRows(tx: Tx, events: readonly StoredEvent[]): NewEventRow[] {
  tx.written.events = true;
  tx.written.types.push(...events.map((e) => e.type));
  return events.map((e) => ({
    id: e.id,
    org_id: e.orgId,
    mode: e.mode,
    payment_request_id: e.paymentRequestId,
    type: e.type,
    sequence: e.sequence,
    data: JSON.stringify(e.data),
    created_at: e.createdAt,
  }));
}

/**
 * Inserts events; `(payment_request_id, sequence)` is unique, so an event can never be written
 * twice. In a transaction only: the store announces events once the transaction that wrote them
 * has committed ({@link Tx.written}).
 */
export async function insertEvents(tx: Tx, events: StoredEvent[]): Promise<void> {
  if (events.length === 0) return;
  await insertRows(tx, { rows: toRows(tx, events) });
}

const insertRows = preparedQuery((db, p: { rows: NewEventRow[] }) => db.insertInto('events').values(p.rows));
const insertRowsReadingEndpoints = preparedQuery((db, p: { rows: NewEventRow[]; orgId: string; mode: string }) =>
  enabledEndpointsQuery(db.with('inserted', (q) => q.insertInto('events').values(p.rows)), p.orgId, p.mode),
);

/**
 * Inserts events of one org and mode (as {@link insertEvents}) and reads that org and mode's
 * enabled webhook endpoints, newest first (as `listEndpoints(…, true)`), for the outbox to
 * write their deliveries. On PostgreSQL both happen in one statement, the insert as a
 * data-modifying `WITH`: one round trip less for every command that records events. On SQLite,
 * where a statement costs no round trip, two statements.
 */
export async function insertEventsReadingEndpoints(tx: Tx, events: StoredEvent[], orgId: string, mode: Mode): Promise<WebhookEndpoint[]> {
  if (tx.engine !== 'postgres' || events.length === 0) {
    await insertEvents(tx, events);
    return listEndpoints(tx, orgId, mode, true);
  }
  const { rows } = await insertRowsReadingEndpoints(tx, { rows: toRows(tx, events), orgId, mode });
  return rows.map((row) => rowToEndpoint(row, boxOf(tx)));
}

/** A payment request's events in sequence order. */
export async function listEventsOfPaymentRequest(tx: Db, paymentRequestId: string): Promise<StoredEvent[]> {
  const rows = await tx.db.selectFrom('events').selectAll().where('payment_request_id', '=', paymentRequestId).orderBy('sequence').execute();
  return rows.map(rowToEvent);
}

/** An event by id, or undefined. */
export async function findEventById(tx: Db, id: string): Promise<StoredEvent | undefined> {
  const row = await tx.db.selectFrom('events').selectAll().where('id', '=', id).executeTakeFirst();
  return row && rowToEvent(row);
}

/** The events with these ids that exist, by id, in one statement (the webhook dispatcher's claimed batch). */
export async function findEventsByIds(tx: Db, ids: readonly string[]): Promise<Map<string, StoredEvent>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.db.selectFrom('events').selectAll().where('id', 'in', [...new Set(ids)]).execute();
  return new Map(rows.map((row) => [row.id, rowToEvent(row)]));
}

/**
 * An org's events in (created_at, id) order, at most `limit`: strictly after the event `after`,
 * or from `since` (epoch ms, inclusive), and only of `types` when given. The backfill list
 * (`GET /v1/events`) and the live stream both read through here.
 */
export async function listEventsInOrder(
  tx: Db,
  orgId: string,
  mode: Mode,
  options: { after?: Pick<StoredEvent, 'createdAt' | 'id'> | undefined; since?: number | undefined; types?: readonly string[] | undefined; limit: number },
): Promise<StoredEvent[]> {
  const { after, since, types } = options;
  const rows = await tx.db
    .selectFrom('events')
    .selectAll()
    .where('org_id', '=', orgId)
    .where('mode', '=', mode)
    .$if(types !== undefined && types.length > 0, (q) => q.where('type', 'in', types as string[]))
    .$if(since !== undefined, (q) => q.where('created_at', '>=', since as number))
    .$if(after !== undefined, (q) =>
      q.where((eb) => {
        const cursor = after as Pick<StoredEvent, 'createdAt' | 'id'>;
        return eb.or([eb('created_at', '>', cursor.createdAt), eb.and([eb('created_at', '=', cursor.createdAt), eb('id', '>', cursor.id)])]);
      }),
    )
    .orderBy('created_at')
    .orderBy('id')
    .limit(options.limit)
    .execute();
  return rows.map(rowToEvent);
}
