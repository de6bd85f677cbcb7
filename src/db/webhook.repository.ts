/**
 * Webhook endpoints, deliveries and attempts. A delivery is the outbox row for one event to
 * one endpoint; dispatchers claim due deliveries with a lease (`claimed_by`, `claimed_until`),
 * on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so that an attempt is never made by two
 * processes at once and a dead process's claim expires within the lease.
 */
import type { Kysely, QueryCreator, Updateable } from 'kysely';
import type { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from '../domain/entities.js';
import type { Mode } from '../domain/payment-request.js';
import { preparedQuery } from './prepared.js';
import type { Database, NewWebhookAttemptRow, NewWebhookDeliveryRow, WebhookAttemptRow, WebhookDeliveryRow, WebhookDeliveryTable, WebhookEndpointRow } from './schema.js';
import type { SecretBox } from './secrets.js';
import type { Store } from './store.js';
import { boxOf, type Db, type Tx } from './tx.js';

/** Where an endpoint's secrets are sealed: the additional authenticated data of each (src/db/secrets.ts). */
function secretPlace(column: 'secret' | 'previous_secret', id: string): string {
  return `webhook_endpoints.${column}:${id}`;
}

/**
 * Maps a row to a {@link WebhookEndpoint}, opening its sealed secrets with `box`.
 * @throws Error when a secret is sealed under a key `box` does not hold.
 */
export function rowToEndpoint(row: WebhookEndpointRow, box: SecretBox): WebhookEndpoint {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    url: row.url,
    description: row.description,
    enabledEvents: JSON.parse(row.enabled_events) as string[],
    format: row.format,
    accountId: row.account_id,
    disabled: Number(row.disabled) === 1,
    disabledReason: row.disabled_reason,
    secret: box.open(row.secret, secretPlace('secret', row.id)),
    previousSecret: row.previous_secret === null ? null : box.open(row.previous_secret, secretPlace('previous_secret', row.id)),
    previousSecretUntil: row.previous_secret_until === null ? null : Number(row.previous_secret_until),
    failingSince: row.failing_since === null ? null : Number(row.failing_since),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Maps a row to a {@link WebhookDelivery}. */
export function rowToDelivery(row: WebhookDeliveryRow): WebhookDelivery {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    eventId: row.event_id,
    endpointId: row.endpoint_id,
    paymentRequestId: row.payment_request_id,
    sequence: row.sequence === null ? null : Number(row.sequence),
    status: row.status as WebhookDelivery['status'],
    attempts: Number(row.attempts),
    nextAttemptAt: Number(row.next_attempt_at),
    lastStatusCode: row.last_status_code === null ? null : Number(row.last_status_code),
    lastError: row.last_error,
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Maps a row to a {@link WebhookAttempt}. */
export function rowToAttempt(row: WebhookAttemptRow): WebhookAttempt {
  return {
    id: row.id,
    deliveryId: row.delivery_id,
    endpointId: row.endpoint_id,
    attempt: Number(row.attempt),
    statusCode: row.status_code === null ? null : Number(row.status_code),
    durationMs: Number(row.duration_ms),
    error: row.error,
    responseBody: row.response_body,
    createdAt: Number(row.created_at),
  };
}

function endpointColumns(e: WebhookEndpoint, box: SecretBox) {
  return {
    url: e.url,
    description: e.description,
    enabled_events: JSON.stringify(e.enabledEvents),
    disabled: e.disabled ? 1 : 0,
    disabled_reason: e.disabledReason,
    secret: box.seal(e.secret, secretPlace('secret', e.id)),
    previous_secret: e.previousSecret === null ? null : box.seal(e.previousSecret, secretPlace('previous_secret', e.id)),
    previous_secret_until: e.previousSecretUntil,
    failing_since: e.failingSince,
    updated_at: e.updatedAt,
  };
}

/** Inserts an endpoint. */
export async function insertEndpoint(tx: Db, e: WebhookEndpoint): Promise<void> {
  await tx.db.insertInto('webhook_endpoints').values({ id: e.id, org_id: e.orgId, mode: e.mode, format: e.format, account_id: e.accountId, ...endpointColumns(e, boxOf(tx)), deleted_at: null, created_at: e.createdAt }).execute();
}

/** Writes every mutable column of an endpoint. */
export async function updateEndpoint(tx: Db, e: WebhookEndpoint): Promise<void> {
  await tx.db.updateTable('webhook_endpoints').set(endpointColumns(e, boxOf(tx))).where('id', '=', e.id).execute();
}

/** Marks an endpoint deleted (its delivery log stays readable to the database, not the API). */
export async function deleteEndpoint(tx: Db, id: string, now: number): Promise<void> {
  await tx.db.updateTable('webhook_endpoints').set({ deleted_at: now, disabled: 1, disabled_reason: 'deleted', updated_at: now }).where('id', '=', id).execute();
}

/** An undeleted endpoint of an org and mode. */
export async function findEndpoint(tx: Db, orgId: string, mode: Mode, id: string): Promise<WebhookEndpoint | undefined> {
  const row = await tx.db
    .selectFrom('webhook_endpoints')
    .selectAll()
    .where('id', '=', id)
    .where('org_id', '=', orgId)
    .where('mode', '=', mode)
    .where('deleted_at', 'is', null)
    .executeTakeFirst();
  return row && rowToEndpoint(row, boxOf(tx));
}

/** Undeleted endpoints of an org and mode, newest first; with `enabledOnly`, only those not disabled. */
export async function listEndpoints(tx: Db, orgId: string, mode: Mode, enabledOnly = false): Promise<WebhookEndpoint[]> {
  const { rows } = await (enabledOnly ? enabledEndpoints : allEndpoints)(tx, { orgId, mode });
  return rows.map((row) => rowToEndpoint(row, boxOf(tx)));
}

/** The undeleted endpoints of an org and mode, newest first, as a query to run or to add to (a `with` in front of it). */
function undeletedEndpoints(db: Pick<QueryCreator<Database>, 'selectFrom'>, orgId: string, mode: string) {
  return db.selectFrom('webhook_endpoints').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('deleted_at', 'is', null).orderBy('id', 'desc');
}

/** The enabled endpoints of an org and mode, newest first (`listEndpoints(…, true)`), as a query: the outbox runs it together with its events insert. */
export function enabledEndpointsQuery(db: Pick<QueryCreator<Database>, 'selectFrom'>, orgId: string, mode: string) {
  return undeletedEndpoints(db, orgId, mode).where('disabled', '=', 0);
}

const allEndpoints = preparedQuery((db, p: { orgId: string; mode: string }) => undeletedEndpoints(db, p.orgId, p.mode));
const enabledEndpoints = preparedQuery((db, p: { orgId: string; mode: string }) => enabledEndpointsQuery(db, p.orgId, p.mode));
const insertDeliveryRows = preparedQuery((db, p: { rows: NewWebhookDeliveryRow[] }) => db.insertInto('webhook_deliveries').values(p.rows));

/**
 * Inserts deliveries. In a transaction only: the dispatchers of this process wake at its commit
 * ({@link Tx.written}), when it brought them work.
 */
export async function insertDeliveries(tx: Tx, deliveries: WebhookDelivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  tx.written.deliveries = true;
  await insertDeliveryRows(tx, {
    rows: deliveries.map((d) => ({
      id: d.id,
      org_id: d.orgId,
      mode: d.mode,
      event_id: d.eventId,
      endpoint_id: d.endpointId,
      payment_request_id: d.paymentRequestId,
      sequence: d.sequence,
      status: d.status,
      attempts: d.attempts,
      next_attempt_at: d.nextAttemptAt,
      claimed_by: null,
      claimed_until: null,
      last_status_code: d.lastStatusCode,
      last_error: d.lastError,
      delivered_at: d.deliveredAt,
      created_at: d.createdAt,
      updated_at: d.updatedAt,
    })),
  });
}

/**
 * Claims up to `limit` due deliveries to enabled endpoints for `worker` until `until` (epoch
 * ms), skipping endpoints in `busyEndpoints`. A delivery whose lease has run out is due again.
 * On PostgreSQL one statement, an `UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)`, so
 * concurrent dispatchers take disjoint batches in one round trip; on SQLite, whose writers are
 * serialized, a select and an update in one transaction.
 * @returns the claimed deliveries, oldest due first.
 */
export async function claimDueDeliveries(store: Store, worker: string, now: number, until: number, limit: number, busyEndpoints: readonly string[]): Promise<WebhookDelivery[]> {
  const due = (db: Kysely<Database>) =>
    db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_endpoints as e', 'e.id', 'd.endpoint_id')
      .select('d.id')
      .where('d.status', '=', 'pending')
      .where('d.next_attempt_at', '<=', now)
      .where((eb) => eb.or([eb('d.claimed_until', 'is', null), eb('d.claimed_until', '<', now)]))
      .where('e.disabled', '=', 0)
      // In order per request and endpoint: not while an earlier event of the same request is pending there.
      .where((eb) =>
        eb.not(
          eb.exists(
            eb.selectFrom('webhook_deliveries as earlier')
              .select('earlier.id')
              .whereRef('earlier.endpoint_id', '=', 'd.endpoint_id')
              .whereRef('earlier.payment_request_id', '=', 'd.payment_request_id')
              .where('earlier.status', '=', 'pending')
              .whereRef('earlier.sequence', '<', 'd.sequence'),
          ),
        ),
      )
      .$if(busyEndpoints.length > 0, (q) => q.where('d.endpoint_id', 'not in', busyEndpoints))
      .orderBy('d.next_attempt_at')
      .orderBy('d.id')
      .limit(limit);
  const claim = (db: Kysely<Database>) => db.updateTable('webhook_deliveries').set({ claimed_by: worker, claimed_until: until }).returningAll();
  let rows: WebhookDeliveryRow[];
  if (store.engine === 'postgres') {
    rows = await claim(store.db).where('id', 'in', due(store.db).forUpdate('d').skipLocked()).execute();
  } else {
    rows = await store.transaction(async (tx) => {
      const ids = (await due(tx.db).execute()).map((d) => d.id);
      return ids.length === 0 ? [] : claim(tx.db).where('id', 'in', ids).execute();
    });
  }
  return rows.map(rowToDelivery).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1));
}

/** The outcome of an attempt, written only while `worker` still holds the claim. */
export interface DeliveryOutcome {
  status: WebhookDelivery['status'];
  attempts: number;
  nextAttemptAt: number;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  now: number;
}

/**
 * Records an attempt's outcome and releases the claim, if `worker` still holds it.
 * @returns false when the claim was lost (the lease ran out and another worker took it).
 */
export async function completeDelivery(tx: Db, id: string, worker: string, outcome: DeliveryOutcome): Promise<boolean> {
  const result = await tx.db.updateTable('webhook_deliveries').set(outcomeChanges(outcome)).where('id', '=', id).where('claimed_by', '=', worker).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

const completeWithAttempt = preparedQuery((db, p: { attempt: NewWebhookAttemptRow; changes: Updateable<WebhookDeliveryTable>; id: string; worker: string }) =>
  db
    .with('attempt', (q) => q.insertInto('webhook_attempts').values(p.attempt))
    .updateTable('webhook_deliveries')
    .set(p.changes)
    .where('id', '=', p.id)
    .where('claimed_by', '=', p.worker),
);

/**
 * Records an attempt and its outcome atomically, as {@link insertAttempt} then
 * {@link completeDelivery} (the attempt is kept even when the claim ran out): on PostgreSQL one
 * statement in a transaction of its own (a data-modifying `WITH`), one round trip for a
 * delivery's whole outcome; on SQLite a transaction of the two.
 * @returns false when `worker` no longer held the claim (the outcome was not written).
 */
export async function completeAttempt(store: Store, attempt: WebhookAttempt, worker: string, outcome: DeliveryOutcome): Promise<boolean> {
  if (store.engine !== 'postgres') {
    return store.transaction(async (tx) => {
      await insertAttempt(tx, attempt);
      return completeDelivery(tx, attempt.deliveryId, worker, outcome);
    });
  }
  const result = await completeWithAttempt(store, { attempt: attemptRow(attempt), changes: outcomeChanges(outcome), id: attempt.deliveryId, worker });
  return result.numAffectedRows === 1n;
}

function attemptRow(a: WebhookAttempt): NewWebhookAttemptRow {
  return {
    id: a.id,
    delivery_id: a.deliveryId,
    endpoint_id: a.endpointId,
    attempt: a.attempt,
    status_code: a.statusCode,
    duration_ms: a.durationMs,
    error: a.error,
    response_body: a.responseBody,
    created_at: a.createdAt,
  };
}

function outcomeChanges(outcome: DeliveryOutcome): Updateable<WebhookDeliveryTable> {
  return {
    status: outcome.status,
    attempts: outcome.attempts,
    next_attempt_at: outcome.nextAttemptAt,
    last_status_code: outcome.lastStatusCode,
    last_error: outcome.lastError,
    delivered_at: outcome.deliveredAt,
    claimed_by: null,
    claimed_until: null,
    updated_at: outcome.now,
  };
}

/** Inserts an attempt. */
export async function insertAttempt(tx: Db, a: WebhookAttempt): Promise<void> {
  await tx.db.insertInto('webhook_attempts').values(attemptRow(a)).execute();
}

/** An endpoint's deliveries, newest first, after the cursor id. */
export async function listDeliveries(tx: Db, endpointId: string, page: { limit: number; cursor?: string | undefined }): Promise<WebhookDelivery[]> {
  const rows = await tx.db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .$if(page.cursor !== undefined, (q) => q.where('id', '<', page.cursor as string))
    .orderBy('id', 'desc')
    .limit(page.limit + 1)
    .execute();
  return rows.map(rowToDelivery);
}

/** The attempts of these deliveries, in attempt order. */
export async function listAttempts(tx: Db, deliveryIds: readonly string[]): Promise<WebhookAttempt[]> {
  if (deliveryIds.length === 0) return [];
  const rows = await tx.db.selectFrom('webhook_attempts').selectAll().where('delivery_id', 'in', deliveryIds).orderBy('delivery_id').orderBy('attempt').execute();
  return rows.map(rowToAttempt);
}

/** The endpoints with these ids that exist (deleted ones too, marked), by id, in one statement (the dispatcher's claimed batch). */
export async function findEndpointsByIds(tx: Db, ids: readonly string[]): Promise<Map<string, WebhookEndpoint & { deleted: boolean }>> {
  if (ids.length === 0) return new Map();
  const rows = await tx.db.selectFrom('webhook_endpoints').selectAll().where('id', 'in', [...new Set(ids)]).execute();
  return new Map(rows.map((row) => [row.id, { ...rowToEndpoint(row, boxOf(tx)), deleted: row.deleted_at !== null }]));
}

/** Releases claims without recording an attempt (the work goes back to the queue as it was). */
export async function releaseClaims(tx: Db, ids: readonly string[], worker: string): Promise<void> {
  if (ids.length === 0) return;
  await tx.db.updateTable('webhook_deliveries').set({ claimed_by: null, claimed_until: null }).where('id', 'in', ids).where('claimed_by', '=', worker).execute();
}

/** Clears an endpoint's failing streak after a success (writes only when there was one). */
export async function markEndpointHealthy(tx: Db, id: string, now: number): Promise<void> {
  await tx.db.updateTable('webhook_endpoints').set({ failing_since: null, updated_at: now }).where('id', '=', id).where('failing_since', 'is not', null).execute();
}

/**
 * Starts an endpoint's failing streak at `now` unless one is running.
 * @returns when the current streak began (epoch ms).
 */
export async function markEndpointFailing(tx: Db, id: string, now: number): Promise<number> {
  await tx.db.updateTable('webhook_endpoints').set({ failing_since: now }).where('id', '=', id).where('failing_since', 'is', null).execute();
  const row = await tx.db.selectFrom('webhook_endpoints').select('failing_since').where('id', '=', id).executeTakeFirst();
  return row?.failing_since === null || row === undefined ? now : Number(row.failing_since);
}

/**
 * Disables an enabled endpoint.
 * @returns true when this call disabled it (so the caller writes the event once).
 */
export async function disableEndpoint(tx: Db, id: string, reason: string, now: number): Promise<boolean> {
  const result = await tx.db.updateTable('webhook_endpoints').set({ disabled: 1, disabled_reason: reason, updated_at: now }).where('id', '=', id).where('disabled', '=', 0).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * True when the delivery is still pending and claimed by `worker`: checked right before an
 * attempt, so that a delivery another attempt has just finished is not sent again.
 */
export async function isStillClaimed(tx: Db, id: string, worker: string): Promise<boolean> {
  const row = await tx.db.selectFrom('webhook_deliveries').select('id').where('id', '=', id).where('status', '=', 'pending').where('claimed_by', '=', worker).executeTakeFirst();
  return row !== undefined;
}

/**
 * One endpoint's signing secrets as stored: sealed (src/db/secrets.ts), so that reading them
 * opens nothing. A caller that caches what it derives from the secrets compares `secret`,
 * `previousSecret` and `previousSecretUntil` with what it derived from: a rotation, and any
 * other write of the row, reseals them under a fresh nonce. Times are epoch ms.
 */
export interface SealedSigningSecrets {
  id: string;
  orgId: string;
  mode: Mode;
  format: string;
  disabled: boolean;
  deleted: boolean;
  secret: string;
  previousSecret: string | null;
  previousSecretUntil: number | null;
}

const sealedSigningSecrets = preparedQuery((db, p: { id: string }) =>
  db.selectFrom('webhook_endpoints').select(['id', 'org_id', 'mode', 'format', 'disabled', 'deleted_at', 'secret', 'previous_secret', 'previous_secret_until']).where('id', '=', p.id),
);

/** An endpoint's sealed signing secrets by id, in any org and mode (deleted ones too, marked), by its primary key; undefined when there is none. */
export async function findSealedSigningSecrets(tx: Db, id: string): Promise<SealedSigningSecrets | undefined> {
  const [row] = (await sealedSigningSecrets(tx, { id })).rows;
  if (row === undefined) return undefined;
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    format: row.format,
    disabled: Number(row.disabled) === 1,
    deleted: row.deleted_at !== null,
    secret: row.secret,
    previousSecret: row.previous_secret,
    previousSecretUntil: row.previous_secret_until === null ? null : Number(row.previous_secret_until),
  };
}

/**
 * Opens what {@link findSealedSigningSecrets} read: the current secret, and the previous one
 * with the end of its overlap (epoch ms) whether or not that has passed.
 * @throws Error when a secret is sealed under a key `tx`'s box does not hold.
 */
export function openSigningSecrets(tx: Db, sealed: SealedSigningSecrets): { current: string; previous: { secret: string; until: number } | null } {
  const box = boxOf(tx);
  return {
    current: box.open(sealed.secret, secretPlace('secret', sealed.id)),
    previous: sealed.previousSecret === null ? null : { secret: box.open(sealed.previousSecret, secretPlace('previous_secret', sealed.id)), until: sealed.previousSecretUntil ?? 0 },
  };
}

/** The number of pending deliveries, in every org (the outbox backlog of `/metrics`). */
export async function countPendingDeliveries(tx: Db): Promise<number> {
  const row = await tx.db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<string | number>().as('n')).where('status', '=', 'pending').executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Reseals every endpoint secret (deleted endpoints' too) that is plain text or sealed under a
 * previous key, under `tx`'s current key: run at startup, so that turning sealing on and
 * rotating the master key both take effect on what is stored.
 * @returns how many values were resealed.
 * @throws Error when a value is sealed under a key the box does not hold.
 */
export async function resealEndpointSecrets(tx: Tx): Promise<number> {
  const box = boxOf(tx);
  const rows = await tx.db.selectFrom('webhook_endpoints').select(['id', 'secret', 'previous_secret']).execute();
  let resealed = 0;
  for (const row of rows) {
    const set: { secret?: string; previous_secret?: string } = {};
    const secret = box.reseal(row.secret, secretPlace('secret', row.id));
    if (secret !== undefined) set.secret = secret;
    const previous = row.previous_secret === null ? undefined : box.reseal(row.previous_secret, secretPlace('previous_secret', row.id));
    if (previous !== undefined) set.previous_secret = previous;
    if (Object.keys(set).length === 0) continue;
    await tx.db.updateTable('webhook_endpoints').set(set).where('id', '=', row.id).execute();
    resealed += Object.keys(set).length;
  }
  return resealed;
}
