/**
 * The expiry sweep: due requests expired in batches, each with its `payment_request.expired`
 * event (a reader sees a due request as expired at once; the sweep persists it). docs/api.md,
 * "The state machine".
 */
import type { StoredEvent } from '../../domain/entities.js';
import { transition } from '../../domain/payment-request.js';
import { claimDuePaymentRequests, compareAndSetPaymentRequest } from '../../db/payment-request.repository.js';
import type { Deps } from '../deps.js';
import { recordEvents } from '../outbox.js';
import { eventsToStore, retryStale, StaleWrite } from './commands.js';

/**
 * Expires up to `limit` due requests in one transaction (the sweeper's work), each with its
 * `payment_request.expired` event. On PostgreSQL the batch is claimed with `FOR UPDATE SKIP
 * LOCKED`, so several processes sweep disjoint batches and each request expires once.
 * @returns how many this call expired.
 */
export function expireDuePaymentRequests(deps: Deps, limit: number): Promise<number> {
  return retryStale(() =>
    deps.store.transaction(async (tx) => {
      const now = deps.clock();
      const events: StoredEvent[] = [];
      const claimed = await claimDuePaymentRequests(tx, now, limit);
      for (const pr of claimed) {
        const result = transition(pr, { type: 'expire' }, now, null);
        if (!(await compareAndSetPaymentRequest(tx, pr, result.request))) throw new StaleWrite();
        events.push(...eventsToStore(deps, result.request, result.events, {}, now));
      }
      // One insert for the batch's events, in the same transaction as the status changes.
      await recordEvents(tx, events, now, deps.webhookFormats);
      return claimed.length;
    }),
  );
}
