/**
 * The expiry sweeper: a background loop in the server process that persists the expiry of
 * due pending requests (with their `payment_request.expired` events). Readers already see a
 * due request as expired; the sweeper makes the transition and its event durable. Each pass
 * also deletes the `Idempotency-Key` records past their 24 hours, stored answers with them
 * (docs/api.md, "Idempotency keys").
 */
import { deleteExpiredIdempotencyKeys, IDEMPOTENCY_RETENTION_MS } from '../db/idempotency.repository.js';
import type { Deps } from '../app/deps.js';
import { expireDuePaymentRequests } from '../app/payment-requests/expiry.js';
import type { Worker } from './worker.js';

/**
 * Starts sweeping every `intervalMs` milliseconds, `batchSize` requests per pass; a full pass
 * runs again at once; then the expired idempotency records go. Errors are reported to
 * `onError` and the loop goes on.
 */
export function startExpirySweeper(deps: Deps, options: { intervalMs: number; batchSize?: number; onError: (err: unknown) => void }): Worker {
  const batchSize = options.batchSize ?? 500;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> = Promise.resolve();

  const pass = async (): Promise<void> => {
    try {
      while (!stopped && (await expireDuePaymentRequests(deps, batchSize)) === batchSize) {
        // A full batch: there may be more due right now.
      }
    } catch (err) {
      options.onError(err);
    }
    try {
      if (!stopped) await deps.store.transaction((tx) => deleteExpiredIdempotencyKeys(tx, deps.clock() - IDEMPOTENCY_RETENTION_MS));
    } catch (err) {
      options.onError(err);
    }
    if (!stopped) timer = setTimeout(tick, options.intervalMs);
  };
  const tick = (): void => {
    current = pass();
  };
  timer = setTimeout(tick, options.intervalMs);

  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await current;
    },
  };
}
