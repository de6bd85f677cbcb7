/**
 * The webhook dispatcher: a background worker in every server process. It claims due
 * deliveries (the outbox rows written with each event) under a lease, posts each one signed
 * per Standard Webhooks, logs the attempt, and schedules the next try or gives up.
 *
 * - At-least-once: a delivery stays pending until a 2xx; a process that dies mid-attempt
 *   loses its lease (longer than the attempt timeout) and another process tries again.
 * - Never twice at once: claims are taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL, and an
 *   outcome is written only while the claim is still held.
 * - No endpoint blocks another: at most `perEndpoint` attempts per endpoint are in flight;
 *   deliveries claimed beyond that go straight back to the queue.
 * - 2xx succeeds; 410 disables the endpoint; 429/503 with `Retry-After` waits as told; any
 *   other answer, a timeout or a connection error retries on the schedule; an endpoint that
 *   keeps failing for `disableAfterSeconds` is disabled, with a `webhook_endpoint.disabled` event.
 */
import { randomUUID } from 'node:crypto';
import type { Deps } from '../app/deps.js';
import { recordEvents } from '../app/outbox.js';
import { presentEndpoint } from '../app/webhook-endpoints.js';
import type { StoredEvent, WebhookDelivery, WebhookEndpoint } from '../domain/entities.js';
import { newId } from '../domain/ids.js';
import { findEventsByIds } from '../db/event.repository.js';
import {
  claimDueDeliveries,
  completeAttempt,
  completeDelivery,
  type DeliveryOutcome,
  disableEndpoint,
  findEndpointsByIds,
  insertAttempt,
  isStillClaimed,
  markEndpointFailing,
  markEndpointHealthy,
  releaseClaims,
} from '../db/webhook.repository.js';
import type { Tx } from '../db/store.js';
import type { WebhookFormats } from '../webhooks/formats.js';
import { type AttemptResult, loggableAttempt, postWebhook } from '../webhooks/http-delivery.js';
import { nextDelayMs, parseRetryAfter } from '../webhooks/schedule.js';
import { checkUrl, guardedLookup, policyFor } from '../webhooks/url-guard.js';
import type { Worker } from './worker.js';

/** Options for {@link startDispatcher}. Times in milliseconds. */
export interface DispatcherOptions {
  /** Attempts in flight in this process. */
  concurrency: number;
  /** Attempts in flight per endpoint (default a quarter of `concurrency`, at least 1). */
  perEndpoint?: number;
  /** How often to look for due deliveries besides the in-process wake-ups. */
  pollIntervalMs: number;
  onError: (err: unknown) => void;
}

/** A running dispatcher. `wake()` makes it look for due work at once. */
export interface Dispatcher extends Worker {
  wake(): void;
  readonly workerId: string;
}

async function disableWithEvent(tx: Tx, endpoint: WebhookEndpoint, reason: string, now: number, formats: WebhookFormats): Promise<void> {
  if (!(await disableEndpoint(tx, endpoint.id, reason, now))) return;
  const disabled = { ...endpoint, disabled: true, disabledReason: reason, updatedAt: now };
  await recordEvents(tx, [{
    id: newId(),
    orgId: endpoint.orgId,
    mode: endpoint.mode,
    paymentRequestId: null,
    type: 'webhook_endpoint.disabled',
    sequence: 1,
    data: { webhookEndpoint: presentEndpoint(disabled), reason },
    createdAt: now,
  }], now, formats);
}

/** A claimed batch's events and endpoints by id, and the deliveries whose claim may have raced an attempt of ours. */
interface Batch {
  events: Map<string, StoredEvent>;
  endpoints: Map<string, WebhookEndpoint & { deleted: boolean }>;
  recheck: Set<string>;
}

/** Starts the dispatcher loop. */
export function startDispatcher(deps: Deps, options: DispatcherOptions): Dispatcher {
  const workerId = `dispatcher_${randomUUID()}`;
  const settings = deps.settings.webhooks;
  const perEndpoint = options.perEndpoint ?? Math.max(1, Math.floor(options.concurrency / 4));
  // Longer than any attempt (which the timeout ends), so a live claim never runs out mid-attempt.
  const leaseMs = settings.timeoutMs + 5_000;
  const inFlight = new Map<string, number>();
  // Deliveries this process is attempting: a lease that looks expired (a clock jump, a very
  // slow attempt) must not start the same delivery a second time here.
  const attempting = new Set<string>();
  const running = new Set<Promise<void>>();
  let total = 0;
  let stopped = false;
  let wakeUp: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Set by every wake-up, so that one arriving while the loop is busy claiming is not lost.
  let woken = false;
  // While a claim runs: the deliveries whose attempt here finished meanwhile.
  let finished: Set<string> | undefined;

  const wake = (): void => {
    woken = true;
    const resolve = wakeUp;
    wakeUp = undefined;
    resolve?.();
  };
  // Woken by commits that wrote deliveries; other processes' are found by the poll.
  const unsubscribe = deps.store.onEventsCommitted((_types, written) => {
    if (written.deliveries) wake();
  });

  /**
   * One attempt of a claimed delivery, with its event and endpoint as the claim's batch read
   * them. `recheck`: an attempt of the same delivery finished here while it was being claimed,
   * so the claim may have raced it; the delivery is sent only if it is still pending and ours.
   */
  async function attempt(delivery: WebhookDelivery, event: StoredEvent | undefined, endpoint: (WebhookEndpoint & { deleted: boolean }) | undefined, recheck: boolean): Promise<void> {
    if (recheck && !(await isStillClaimed(deps.store, delivery.id, workerId))) return;
    if (!event || !endpoint || endpoint.deleted || endpoint.disabled) {
      // Deleted or disabled since it was claimed: back to the queue untouched (a re-enabled endpoint resumes it).
      await releaseClaims(deps.store, [delivery.id], workerId);
      return;
    }
    const sentAt = deps.clock();
    const secrets = [endpoint.secret];
    if (endpoint.previousSecret !== null && (endpoint.previousSecretUntil ?? 0) > sentAt) secrets.push(endpoint.previousSecret);
    const context = { deliveryId: delivery.id, attempt: delivery.attempts, secrets, sentAt: new Date(sentAt), endpointId: endpoint.id, url: endpoint.url, currencies: deps.currencies, publicUrl: deps.settings.publicUrl };
    const { body, headers } = await deps.webhookFormats.get(endpoint.format).render(event, context);
    const policy = policyFor(endpoint.mode, settings);
    // The host name is resolved and checked once, by the connection's guarded lookup.
    const refused = await checkUrl(endpoint.url, policy, undefined);
    const result: AttemptResult = refused
      ? { statusCode: null, responseBody: null, retryAfter: undefined, durationMs: 0, error: `refused: the URL ${refused}`, remoteAddress: null }
      : loggableAttempt(await postWebhook(endpoint.url, { ...headers }, body, { timeoutMs: settings.timeoutMs, lookup: guardedLookup(policy, deps.resolver) }));

    const now = deps.clock();
    const attempts = delivery.attempts + 1;
    const record = {
      id: newId(),
      deliveryId: delivery.id,
      endpointId: endpoint.id,
      attempt: attempts,
      statusCode: result.statusCode,
      durationMs: result.durationMs,
      error: result.error,
      responseBody: result.responseBody,
      createdAt: now,
    };
    const code = result.statusCode;
    const base = { attempts, lastStatusCode: code, lastError: result.error, now };
    const succeeded = code !== null && code >= 200 && code < 300;
    const delivered: DeliveryOutcome = { ...base, status: 'succeeded', nextAttemptAt: delivery.nextAttemptAt, deliveredAt: now };
    let outcome: DeliveryOutcome;
    let completed: boolean;
    if (succeeded && endpoint.failingSince === null) {
      // The common case: the attempt and its outcome are all there is to write (one statement on PostgreSQL).
      outcome = delivered;
      completed = await completeAttempt(deps.store, record, workerId, outcome);
    } else {
      [outcome, completed] = await deps.store.transaction(async (tx): Promise<[DeliveryOutcome, boolean]> => {
        await insertAttempt(tx, record);
        let written: DeliveryOutcome;
        if (succeeded) {
          written = delivered;
          await markEndpointHealthy(tx, endpoint.id, now);
        } else if (code === 410) {
          written = { ...base, status: 'failed', nextAttemptAt: delivery.nextAttemptAt, deliveredAt: null };
          await disableWithEvent(tx, endpoint, 'gone', now, deps.webhookFormats);
        } else {
          const retryAfter = code === 429 || code === 503 ? parseRetryAfter(result.retryAfter, now) : undefined;
          const scheduled = nextDelayMs(settings.retrySchedule, attempts);
          const delay = scheduled === undefined ? undefined : (retryAfter ?? scheduled);
          written = delay === undefined
            ? { ...base, status: 'failed', nextAttemptAt: delivery.nextAttemptAt, deliveredAt: null }
            : { ...base, status: 'pending', nextAttemptAt: now + delay, deliveredAt: null };
          const failingSince = await markEndpointFailing(tx, endpoint.id, now);
          if (now - failingSince >= settings.disableAfterSeconds * 1000) await disableWithEvent(tx, endpoint, 'failing', now, deps.webhookFormats);
        }
        // Written only while this process still holds the claim; otherwise the lease ran out.
        return [written, await completeDelivery(tx, delivery.id, workerId, written)];
      });
    }
    if (completed) {
      const label = outcome.status === 'succeeded' ? 'delivered' : outcome.status === 'pending' ? 'retrying' : refused ? 'refused' : 'failed';
      deps.metrics.webhookAttempts.inc({ format: endpoint.format, outcome: label });
      if (outcome.status === 'succeeded') deps.metrics.webhookLag.observe(Math.max(0, now - event.createdAt) / 1000);
    }
  }

  function launch(delivery: WebhookDelivery, read: Promise<Batch>): void {
    attempting.add(delivery.id);
    total += 1;
    inFlight.set(delivery.endpointId, (inFlight.get(delivery.endpointId) ?? 0) + 1);
    const task: Promise<void> = read
      .then((batch) => attempt(delivery, batch.events.get(delivery.eventId), batch.endpoints.get(delivery.endpointId), batch.recheck.has(delivery.id)))
      .catch(options.onError)
      .finally(() => {
        finished?.add(delivery.id);
        attempting.delete(delivery.id);
        total -= 1;
        const left = (inFlight.get(delivery.endpointId) ?? 1) - 1;
        if (left === 0) inFlight.delete(delivery.endpointId);
        else inFlight.set(delivery.endpointId, left);
        running.delete(task);
        wake();
      });
    running.add(task);
  }

  async function claim(): Promise<number> {
    const free = options.concurrency - total;
    if (free <= 0) return 0;
    const busy = [...inFlight].filter(([, n]) => n >= perEndpoint).map(([id]) => id);
    const now = deps.clock();
    // Attempts of ours that finish while the claim runs: the claim may have taken their delivery again.
    finished = new Set();
    let claimed: WebhookDelivery[];
    let recheck: Set<string>;
    try {
      claimed = await claimDueDeliveries(deps.store, workerId, now, now + leaseMs, free, busy);
    } finally {
      recheck = finished;
      finished = undefined;
    }
    const extra: string[] = [];
    const planned = new Map(inFlight);
    const launching: WebhookDelivery[] = [];
    for (const delivery of claimed) {
      if (attempting.has(delivery.id)) continue; // already under way here; its outcome ends the claim
      const n = planned.get(delivery.endpointId) ?? 0;
      if (n >= perEndpoint) {
        extra.push(delivery.id);
        continue;
      }
      planned.set(delivery.endpointId, n + 1);
      launching.push(delivery);
    }
    if (launching.length > 0) {
      // The batch's events and endpoints in one statement each, not three reads per attempt.
      const read = Promise.all([findEventsByIds(deps.store, launching.map((d) => d.eventId)), findEndpointsByIds(deps.store, launching.map((d) => d.endpointId))]).then(([events, endpoints]) => ({ events, endpoints, recheck }));
      for (const delivery of launching) launch(delivery, read);
    }
    if (extra.length > 0) await releaseClaims(deps.store, extra, workerId);
    return claimed.length - extra.length;
  }

  const loop = (async () => {
    while (!stopped) {
      woken = false;
      let launched = 0;
      try {
        launched = await claim();
      } catch (err) {
        options.onError(err);
      }
      if (stopped) break;
      if ((launched > 0 && total < options.concurrency) || woken) continue;
      await new Promise<void>((resolve) => {
        wakeUp = resolve;
        timer = setTimeout(wake, options.pollIntervalMs);
      });
      if (timer) clearTimeout(timer);
    }
  })();

  return {
    workerId,
    wake,
    async stop() {
      stopped = true;
      unsubscribe();
      wake();
      await loop;
      await Promise.allSettled([...running]);
    },
  };
}
