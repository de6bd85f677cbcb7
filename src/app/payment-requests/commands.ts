/**
 * The command runner of the payment request use cases. Each command runs in one transaction:
 * load, the pure `transition()` (src/domain/payment-request.ts), a compare-and-set write, and
 * the events in the same transaction. A write that loses a race is retried from a fresh read
 * (and then usually answers `invalid_transition`); a request found due for expiry is expired
 * first, so the command sees `expired`. docs/api.md.
 */
import type { StoredEvent } from '../../domain/entities.js';
import { DomainError } from '../../domain/errors.js';
import { isUuid, newId } from '../../domain/ids.js';
import { type DomainEvent, isDue, type PaymentRequest, transition, type TransitionResult } from '../../domain/payment-request.js';
import { compareAndSetPaymentRequest, findPaymentRequest } from '../../db/payment-request.repository.js';
import type { Tx } from '../../db/store.js';
import { LedgerRace } from '../../rails/ledger.js';
import type { Deps, Principal } from '../deps.js';
import { recordEvents } from '../outbox.js';
import { money, presentPaymentRequest } from '../present.js';
import { notFound } from './access.js';

/** Thrown when a compare-and-set lost a race; the command is retried from a fresh read. */
export class StaleWrite extends Error {}
/** Thrown when a command finds its request due for expiry; the expiry is persisted first, then the command retried. */
class DueForExpiry extends Error {}

const MAX_ATTEMPTS = 20;

/** What a writer that lost every retry answers: nothing was written, and a retry soon goes through. */
function contention(): DomainError {
  return new DomainError('write_contention', `too many writers changed this payment request at once; nothing was written, retry after ${CONTENTION_RETRY_AFTER_SECONDS} s`, {
    details: { retryAfterSeconds: CONTENTION_RETRY_AFTER_SECONDS },
  });
}

/** Seconds a client is asked to wait (`Retry-After`) after {@link contention}. */
export const CONTENTION_RETRY_AFTER_SECONDS = 1;

/**
 * Waits a random time before retry `attempt` (from 1), up to 2^attempt ms capped at 100 ms (full
 * jitter, as in https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), so that
 * writers that lost a race to the same row do not meet again at once.
 */
function backoff(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(100, 2 ** attempt)));
}

/**
 * The events of a transition as stored: each carries the request as the transition left it
 * (`paymentRequest`, as /v1 presents it at `now`), and, on the events that carry one, the
 * payment (`extras.payment`), the refund (`extras.refund`), the amount still to refund
 * (`refundDue`) or the failure reason.
 */
export function eventsToStore(deps: Deps, pr: PaymentRequest, events: DomainEvent[], extras: Record<string, unknown>, now: number): StoredEvent[] {
  const snapshot = presentPaymentRequest(pr, deps, now);
  return events.map((e) => {
    const data: Record<string, unknown> = { paymentRequest: snapshot };
    // The dialects' webhook formats read their own data here; the /v1 event and the standard
    // payload leave it out (src/app/present.ts, src/webhooks/standard-payload.ts).
    if (pr.dialectData !== null) data['dialectData'] = pr.dialectData;
    // The payment that paid a request rides on its `paid` event too (Centrapay's paid notification carries it).
    if ((e.type === 'payment.received' || e.type === 'payment.reverted' || e.type === 'payment_request.paid') && extras['payment'] !== undefined) data['payment'] = extras['payment'];
    if (e.data?.['requiresRefund'] === true) data['requiresRefund'] = true;
    // A request that ended holding money says how much of it is still to go back, in its currency.
    if (e.data?.['requiresRefund'] === true && e.type !== 'payment.received') data['refundDue'] = money(deps.currencies, pr.currency, pr.amountPaid - pr.amountRefunded);
    if (e.type === 'refund.created' || e.type === 'refund.completed') data['refund'] = extras['refund'];
    if (e.type === 'payment_request.failed') data['reason'] = pr.failureReason;
    return { id: newId(), orgId: pr.orgId, mode: pr.mode, paymentRequestId: pr.id, type: e.type, sequence: e.sequence, data, createdAt: now };
  });
}

/**
 * Compare-and-set `result` over `prev` and write its events (with `extras.payment` or
 * `extras.refund` on the events that carry one).
 * @throws StaleWrite when another writer changed the request first (retry from a fresh read).
 */
export async function saveTransition(tx: Tx, deps: Deps, prev: PaymentRequest, result: TransitionResult, now: number, extras: Record<string, unknown> = {}): Promise<PaymentRequest> {
  return saveTransitions(tx, deps, prev, [result], now, extras);
}

/**
 * Compare-and-set the last of `results` (transitions made one after another from `prev`, in one
 * transaction) over `prev` in one write, and write every result's events, each carrying the
 * request as its own transition left it. Readers never see the states in between (they see
 * only committed rows), so this is the same as one write per transition, in fewer statements:
 * an approval's `processing` and `paid` (docs/performance.md).
 * @throws StaleWrite when another writer changed the request first (retry from a fresh read).
 */
export async function saveTransitions(tx: Tx, deps: Deps, prev: PaymentRequest, results: readonly TransitionResult[], now: number, extras: Record<string, unknown> = {}): Promise<PaymentRequest> {
  const last = results[results.length - 1];
  if (!last) return prev;
  if (!(await compareAndSetPaymentRequest(tx, prev, last.request))) throw new StaleWrite();
  await recordEvents(tx, results.flatMap((r) => eventsToStore(deps, r.request, r.events, extras, now)), now, deps.webhookFormats);
  return last.request;
}

/**
 * Expires request `id` in its own transaction if it is still due at the transaction's clock.
 * @returns whether this call expired it (false when another writer did first, or it is not due).
 * @throws StaleWrite when another writer changed the request between the read and the write.
 */
export async function expireNow(deps: Deps, orgId: string, mode: Principal['mode'], id: string): Promise<boolean> {
  return deps.store.transaction(async (tx) => {
    const pr = await findPaymentRequest(tx, orgId, mode, id);
    const now = deps.clock();
    if (!pr || !isDue(pr, now)) return false;
    await saveTransition(tx, deps, pr, transition(pr, { type: 'expire' }, now, null), now);
    return true;
  });
}

/**
 * Runs `body` on the request in one transaction, retrying from a fresh read (after a short
 * random wait) when a compare-and-set loses a race (or a ledger transfer finds an account
 * changed at its commit: {@link LedgerRace}), and persisting a due expiry first (so that the
 * command then sees `expired`).
 * @throws DomainError `write_contention` (503 with `Retry-After`) when all 20 attempts lost their race.
 */
export async function runCommand<T>(deps: Deps, principal: Principal, id: string, body: (tx: Tx, pr: PaymentRequest, now: number) => Promise<T>): Promise<T> {
  if (!isUuid(id)) throw notFound(id);
  return retryStale(
    () =>
      deps.store.transaction(async (tx) => {
        const pr = await findPaymentRequest(tx, principal.orgId, principal.mode, id);
        if (!pr) throw notFound(id);
        const now = deps.clock();
        if (isDue(pr, now)) throw new DueForExpiry();
        return body(tx, pr, now);
      }),
    () => retryStale(() => expireNow(deps, principal.orgId, principal.mode, id)),
  );
}

/**
 * The one compare-and-set retry loop: runs `fn` again (from a fresh read, after a short random
 * wait) while it throws {@link StaleWrite} (a compare-and-set lost its race) or
 * {@link LedgerRace} (a ledger transfer found an account changed at its commit), up to 20
 * times. When `fn` finds its request due for expiry, `expireFirst` persists the expiry and `fn`
 * runs again at once (only {@link runCommand} does).
 * @throws DomainError `write_contention` (503, `retryAfterSeconds`) when every attempt lost its race.
 */
export async function retryStale<T>(fn: () => Promise<T>, expireFirst?: () => Promise<unknown>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DueForExpiry && expireFirst !== undefined) {
        await expireFirst();
        continue;
      }
      if (!(err instanceof StaleWrite) && !(err instanceof LedgerRace)) throw err;
      if (attempt >= MAX_ATTEMPTS) throw contention();
      await backoff(attempt);
    }
  }
}
