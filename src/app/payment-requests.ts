/**
 * Payment request use cases: create, read, list, approve (ledger settlement), decline, cancel,
 * record an external payment, refund, expire. Each command runs in one transaction: load, the
 * pure `transition()`, a compare-and-set write, and the events in the same transaction.
 * A write that loses a race is retried from a fresh read (and then usually answers
 * `invalid_transition`). docs/api.md.
 */
import { DomainError, fieldError, isDomainError } from '../domain/errors.js';
import { allows, canSee, paymentRequestVisibility, type Permission, type Scope } from '../domain/grants.js';
import { isUuid, newCode, newId, newSalt, paymentReference } from '../domain/ids.js';
import { convertAmount, MAX_MINOR_UNITS, parseAmount, prorate } from '../domain/money.js';
import {
  assertAllowed,
  type Command,
  type DomainEvent,
  isDue,
  isRepeat,
  type LineItem,
  owedInOption,
  type PaymentOption,
  type PaymentRequest,
  type PaymentRequestStatus,
  recordUnappliedPayment,
  transition,
  type TransitionResult,
} from '../domain/payment-request.js';
import { type Account, findAccount, findAccounts, systemAccount } from '../db/account.repository.js';
import { isUniqueViolation } from '../db/errors.js';
import { listEventsOfPaymentRequest, type StoredEvent } from '../db/event.repository.js';
import { findParty, type Party } from '../db/party.repository.js';
import { findPatronCode } from '../db/patron-code.repository.js';
import { findPaymentByReference, findRefundByReference, insertPayment, insertRefund, listPayments, type Payment, type Refund, setPaymentApplied, setPaymentRefunded } from '../db/payment.repository.js';
import {
  compareAndSetPaymentRequest,
  claimDuePaymentRequests,
  findPaymentRequest,
  insertPaymentRequest,
  listPaymentRequests as listRows,
  type PaymentRequestFilter,
} from '../db/payment-request.repository.js';
import type { Tx } from '../db/store.js';
import { LedgerRace, movementPostings, type Posting, transfer } from '../rails/ledger.js';
import { insertChainReferences } from '../db/chain.repository.js';
import { nextNumber } from '../db/number.repository.js';
import { canSeeAccount, isWallet } from './accounts.js';
import { assignReceivingAddresses, chainReferencesOf } from './chain-payments.js';
import type { Deps, Principal } from './deps.js';
import { type Page, toPage } from './pagination.js';
import { recordEvents } from './outbox.js';
import { canSeeParty, normalizePhone } from './parties.js';
import { money, presentPayment, presentPaymentRequest, presentRefund } from './present.js';

/** Who the request is addressed to; without one the request is open: whoever holds its link pays. */
export type PayerInput = { accountId: string } | { partyId: string } | { username: string } | { phone: string };

/** Input for {@link createPaymentRequest}; amounts are decimal strings in `currency`. Exactly one of `expiresIn` (seconds) and `expiresAt` (RFC 3339). */
export interface CreatePaymentRequestInput {
  amount: string;
  currency: string;
  payee: { accountId: string };
  payer?: PayerInput | undefined;
  expiresIn?: number | undefined;
  expiresAt?: string | undefined;
  description?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
  externalId?: string | undefined;
  lineItems?: { name: string; sku: string; qty: string; price: string }[] | undefined;
  customer?: { email?: string | undefined; reference?: string | undefined } | undefined;
  redirectUrls?: { store?: string | undefined; success?: string | undefined; failed?: string | undefined } | undefined;
  /** Extra currencies the payer may pay in; a token payable on chain may name the payee's receiving `address`. */
  paymentOptions?: { currency: string; address?: string | undefined }[] | undefined;
  patronCodeId?: string | undefined;
  transactionType?: string | undefined;
  tillId?: string | undefined;
}

/** Thrown when a compare-and-set lost a race; the command is retried from a fresh read. */
class StaleWrite extends Error {}
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

function notFound(id: string): DomainError {
  return new DomainError('payment_request_not_found', `payment request ${id} does not exist`);
}

function scopeOf(pr: PaymentRequest, side: 'payee' | 'payer' | 'both'): Scope {
  const payee = side !== 'payer';
  const payer = side !== 'payee';
  return {
    accountIds: [payee ? pr.payeeAccountId : null, payer ? pr.payerAccountId : null],
    partyIds: [payee ? pr.payeePartyId : null, payer ? pr.payerPartyId : null],
  };
}

/** Throws 404 when the key cannot see the request at all, 403 when it sees it but lacks `permission` on `side`. */
function authorize(principal: Principal, pr: PaymentRequest, permission: Permission, side: 'payee' | 'payer'): void {
  if (allows(principal.grants, permission, scopeOf(pr, side))) return;
  if (canSee(principal.grants, scopeOf(pr, 'both'))) {
    throw new DomainError('forbidden', `this API key may not do this on the payment request (needs ${permission})`);
  }
  throw notFound(pr.id);
}

function eventsToStore(deps: Deps, pr: PaymentRequest, events: DomainEvent[], extras: Record<string, unknown>, now: number): StoredEvent[] {
  const snapshot = presentPaymentRequest(pr, deps, now);
  return events.map((e) => {
    const data: Record<string, unknown> = { paymentRequest: snapshot };
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
async function saveTransitions(tx: Tx, deps: Deps, prev: PaymentRequest, results: readonly TransitionResult[], now: number, extras: Record<string, unknown> = {}): Promise<PaymentRequest> {
  const last = results[results.length - 1];
  if (!last) return prev;
  if (!(await compareAndSetPaymentRequest(tx, prev, last.request))) throw new StaleWrite();
  await recordEvents(tx, results.flatMap((r) => eventsToStore(deps, r.request, r.events, extras, now)), now);
  return last.request;
}

async function expireNow(deps: Deps, orgId: string, mode: Principal['mode'], id: string): Promise<boolean> {
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
async function runCommand<T>(deps: Deps, principal: Principal, id: string, body: (tx: Tx, pr: PaymentRequest, now: number) => Promise<T>): Promise<T> {
  if (!isUuid(id)) throw notFound(id);
  for (let attempt = 1; ; attempt++) {
    try {
      return await deps.store.transaction(async (tx) => {
        const pr = await findPaymentRequest(tx, principal.orgId, principal.mode, id);
        if (!pr) throw notFound(id);
        const now = deps.clock();
        if (isDue(pr, now)) throw new DueForExpiry();
        return body(tx, pr, now);
      });
    } catch (err) {
      if (err instanceof DueForExpiry) {
        await retryStale(() => expireNow(deps, principal.orgId, principal.mode, id));
        continue;
      }
      if (err instanceof StaleWrite || err instanceof LedgerRace) {
        if (attempt >= MAX_ATTEMPTS) throw contention();
        await backoff(attempt);
        continue;
      }
      throw err;
    }
  }
}

/**
 * Runs `fn` again (from a fresh read, after a short random wait) while it throws
 * {@link StaleWrite}, up to 20 times.
 * @throws DomainError `write_contention` (503, `retryAfterSeconds`) when every attempt lost its race.
 */
export async function retryStale<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof StaleWrite)) throw err;
      if (attempt >= MAX_ATTEMPTS) throw contention();
      await backoff(attempt);
    }
  }
}

function computeExpiry(deps: Deps, input: CreatePaymentRequestInput, now: number): number {
  const { minExpirySeconds: min, maxExpirySeconds: max } = deps.settings;
  let expiresAt: number;
  let path: string;
  if (input.expiresIn !== undefined && input.expiresAt !== undefined) {
    throw fieldError('expiresIn', 'give exactly one of expiresIn and expiresAt, not both', 'invalid_expiry');
  } else if (input.expiresIn !== undefined) {
    expiresAt = now + input.expiresIn * 1000;
    path = 'expiresIn';
  } else if (input.expiresAt !== undefined) {
    expiresAt = Date.parse(input.expiresAt);
    path = 'expiresAt';
    if (Number.isNaN(expiresAt)) throw fieldError(path, 'expiresAt must be an RFC 3339 date-time', 'invalid_expiry');
  } else {
    throw fieldError('expiresIn', 'give exactly one of expiresIn (seconds) and expiresAt (RFC 3339)', 'invalid_expiry');
  }
  const lifetime = (expiresAt - now) / 1000;
  if (lifetime < min) throw fieldError(path, `the lifetime must be at least ${min} seconds`, 'invalid_expiry');
  if (lifetime > max) throw fieldError(path, `the lifetime must be at most ${max} seconds`, 'invalid_expiry');
  return expiresAt;
}

function parseLineItems(input: CreatePaymentRequestInput, exponent: number, amount: bigint): LineItem[] | null {
  if (input.lineItems === undefined) return null;
  const items = input.lineItems.map((li, i) => {
    if (!/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(li.qty) || /^0(\.0+)?$/.test(li.qty)) {
      throw fieldError(`lineItems.${i}.qty`, 'qty must be a positive decimal string');
    }
    return { name: li.name, sku: li.sku, qty: li.qty, price: parseAmount(li.price, exponent, { allowNegative: true, allowZero: true, path: `lineItems.${i}.price` }) };
  });
  const sum = items.reduce((acc, li) => acc + li.price, 0n);
  if (sum !== amount) {
    throw fieldError('lineItems', `line item prices sum to ${sum} minor units, not the amount's ${amount}`, 'line_items_mismatch');
  }
  return items;
}

function quotePaymentOptions(deps: Deps, input: CreatePaymentRequestInput, amount: bigint, extra: readonly string[] = []): PaymentOption[] {
  const invoice = deps.currencies.get(input.currency);
  const options: PaymentOption[] = [{ currency: invoice.code, amount, rate: '1' }];
  const requested = [...(input.paymentOptions ?? []).map((o) => o.currency), ...extra.filter((c) => !input.paymentOptions?.some((o) => o.currency === c))];
  for (const [i, code] of requested.entries()) {
    const path = i < (input.paymentOptions?.length ?? 0) ? `paymentOptions.${i}.currency` : 'payee.accountId';
    const currency = deps.currencies.get(code, path);
    if (options.some((o) => o.currency === currency.code)) {
      if (currency.code === invoice.code) continue;
      throw fieldError(path, `${currency.code} is listed twice`);
    }
    const quote = deps.rates.get(invoice.code, currency.code);
    if (!quote) throw fieldError(path, `no exchange rate is available from ${invoice.code} to ${currency.code}`, 'rate_unavailable');
    // Rounded up: the payee never receives less than the invoice amount.
    const converted = convertAmount(amount, invoice.exponent, currency.exponent, quote.rate, 'up');
    if (converted > MAX_MINOR_UNITS) throw fieldError(path, `the amount in ${currency.code} would exceed 2^256 - 1 minor units`, 'amount_too_large');
    options.push({ currency: currency.code, amount: converted, rate: quote.text });
  }
  return options;
}

/** Resolves the payer; `read` holds accounts already read in this transaction (create reads the payer's account with the payee's). */
async function resolvePayer(tx: Tx, principal: Principal, payer: PayerInput | undefined, read: readonly Account[] = []): Promise<{ accountId: string | null; partyId: string | null }> {
  if (payer === undefined) return { accountId: null, partyId: null };
  const missing = (path: string, what: string) => fieldError(`payer.${path}`, `no payer ${what}`, 'payer_not_found');
  if ('accountId' in payer) {
    const account = read.find((a) => a.id === payer.accountId) ?? (await findAccount(tx, principal.orgId, principal.mode, payer.accountId));
    if (!account || account.systemPurpose !== null) throw missing('accountId', `account ${payer.accountId}`);
    return { accountId: account.id, partyId: account.partyId };
  }
  let party: Party | undefined;
  if ('partyId' in payer) party = await findParty(tx, principal.orgId, principal.mode, { id: payer.partyId });
  else if ('username' in payer) party = await findParty(tx, principal.orgId, principal.mode, { username: payer.username });
  else party = await findParty(tx, principal.orgId, principal.mode, { phone: normalizePhone(payer.phone, 'payer.phone') });
  if (!party) throw missing(Object.keys(payer)[0] ?? 'partyId', 'matches');
  return { accountId: null, partyId: party.id };
}

/**
 * Creates a payment request in `pending`, with its `payment_request.created` event.
 * Needs `payment_requests:create` over the payee account or its party.
 * @throws DomainError `unknown_currency`, `invalid_amount`, `invalid_expiry`, `line_items_mismatch`,
 *   `rate_unavailable`, `account_not_found` (payee), `currency_mismatch` (payee account in another
 *   currency), `account_closed`, `payer_not_found`, `invalid_phone`, `account_not_allowed` (payer =
 *   payee account), `forbidden`, `external_id_conflict`, `patron_code_not_found`. With
 *   `patronCodeId` the request is attached to that patron code and its party becomes the payer
 *   (a `payer` naming another party is `validation_failed`).
 */
export async function createPaymentRequest(deps: Deps, principal: Principal, input: CreatePaymentRequestInput): Promise<PaymentRequest> {
  const currency = deps.currencies.get(input.currency);
  const amount = parseAmount(input.amount, currency.exponent);
  const now = deps.clock();
  const expiresAt = computeExpiry(deps, input, now);
  const lineItems = parseLineItems(input, currency.exponent, amount);
  const quoted = quotePaymentOptions(deps, input, amount);

  return deps.store.transaction(async (tx) => {
    // The payee's account, and the payer's when the request names one, in one read.
    const read = await findAccounts(tx, principal.orgId, principal.mode, [input.payee.accountId, ...(input.payer !== undefined && 'accountId' in input.payer ? [input.payer.accountId] : [])]);
    const payee = read.find((a) => a.id === input.payee.accountId);
    if (!payee || payee.systemPurpose !== null || !payee.partyId) {
      throw fieldError('payee.accountId', `account ${input.payee.accountId} does not exist`, 'account_not_found');
    }
    if (!allows(principal.grants, 'payment_requests:create', { accountIds: [payee.id], partyIds: [payee.partyId] })) {
      if (canSeeAccount(principal, payee)) throw new DomainError('forbidden', 'this API key may not request payments into this account (needs payment_requests:create)');
      throw fieldError('payee.accountId', `account ${input.payee.accountId} does not exist`, 'account_not_found');
    }
    // A wallet account receives its token on chain: an invoice in another currency (USD paid
    // in USDC, Request Network's invoiceCurrency/paymentCurrency) adds that token as an option.
    let paymentOptions = quoted;
    if (payee.currency !== currency.code) {
      if (!isWallet(payee)) throw fieldError('currency', `the payee account holds ${payee.currency}, not ${currency.code}`, 'currency_mismatch');
      if (!quoted.some((o) => o.currency === payee.currency)) paymentOptions = quotePaymentOptions(deps, input, amount, [payee.currency]);
    }
    paymentOptions = await assignReceivingAddresses(tx, deps, payee, paymentOptions, input.paymentOptions ?? []);
    if (payee.status === 'closed') throw fieldError('payee.accountId', 'the payee account is closed', 'account_closed');
    const payer = await resolvePayer(tx, principal, input.payer, read);
    if (input.patronCodeId !== undefined) {
      // A patron code names its party: the request is attached to it, and that party pays.
      const patronCode = await findPatronCode(tx, principal.orgId, principal.mode, input.patronCodeId);
      if (!patronCode) throw fieldError('patronCodeId', `patron code ${input.patronCodeId} does not exist`, 'patron_code_not_found');
      if (payer.partyId !== null && payer.partyId !== patronCode.partyId) throw fieldError('patronCodeId', 'the patron code belongs to another party than the payer');
      payer.partyId = patronCode.partyId;
    }
    if (payer.accountId === payee.id) throw fieldError('payer.accountId', 'the payer account cannot be the payee account', 'account_not_allowed');
    const payeeParty = await findParty(tx, principal.orgId, principal.mode, { id: payee.partyId });
    const payerParty = payer.partyId === null ? undefined : await findParty(tx, principal.orgId, principal.mode, { id: payer.partyId });
    const ref = (p: Party) => ({ number: p.number, type: p.type, name: p.type === 'user' ? (p.username ?? p.name) : p.name });
    const merchant = payeeParty?.type === 'legal_entity' ? { id: payeeParty.id, name: payeeParty.name, ...(payeeParty.merchant ?? {}) } : null;

    const id = newId();
    const salt = newSalt();
    const pr: PaymentRequest = {
      id,
      orgId: principal.orgId,
      mode: principal.mode,
      status: 'pending',
      amount,
      currency: currency.code,
      payeeAccountId: payee.id,
      payeePartyId: payee.partyId,
      payerAccountId: payer.accountId,
      payerPartyId: payer.partyId,
      paymentOptions,
      expiresAt,
      description: input.description ?? null,
      metadata: input.metadata ?? null,
      externalId: input.externalId ?? null,
      lineItems,
      customer: input.customer ?? null,
      redirectUrls: input.redirectUrls ?? null,
      merchant,
      patronCodeId: input.patronCodeId ?? null,
      transactionType: input.transactionType ?? null,
      tillId: input.tillId ?? null,
      amountPaid: 0n,
      amountRefunded: 0n,
      paidAt: null,
      failureReason: null,
      code: newCode(),
      parties: payeeParty ? { payee: { ...ref(payeeParty), accountNumber: payee.number }, payer: payerParty ? ref(payerParty) : null } : null,
      number: await nextNumber(tx, principal.orgId, principal.mode, 'payment_request'),
      // Request Network's reference over the first receiving address; a ledger-only request
      // uses its payee account id in the address's place.
      paymentReference: paymentReference(id, salt, paymentOptions.find((o) => o.address !== undefined)?.address ?? payee.id),
      salt,
      sequence: 1,
      statusCause: null,
      statusActor: principal.keyId,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await insertPaymentRequest(tx, pr);
    } catch (err) {
      if (isUniqueViolation(err, 'external_id')) {
        throw fieldError('externalId', `a payment request with externalId "${pr.externalId}" already exists`, 'external_id_conflict');
      }
      throw err;
    }
    await insertChainReferences(tx, chainReferencesOf(deps, pr));
    await recordEvents(tx, eventsToStore(deps, pr, [{ type: 'payment_request.created', sequence: 1 }], {}, now), now);
    return pr;
  });
}

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

/**
 * Pays what is still owed on `pr` from the payer's ledger account; `payee` is the payee's account
 * as read in this transaction (the transfer reads it no more).
 * @throws DomainError `currency_mismatch` (the account's currency is no payment option),
 *   `insufficient_funds`, `account_closed` (from the ledger), `amount_too_large`.
 */
async function settleFromLedger(tx: Tx, deps: Deps, pr: PaymentRequest, payer: Account, payee: Account, now: number): Promise<Payment> {
  const remaining = pr.amount - pr.amountPaid;
  const option = pr.paymentOptions.find((o) => o.currency === payer.currency);
  if (!option) throw fieldError('accountId', `the account holds ${payer.currency}, which is not a payment option of this request`, 'currency_mismatch');
  // The payer pays the option's share of what is still owed, rounded up (the payee never gets less).
  const payAmount = owedInOption(pr, option);
  const postings = await movementPostings(
    tx,
    pr.orgId,
    pr.mode,
    { accountId: payer.id, currency: payer.currency, amount: payAmount },
    { accountId: pr.payeeAccountId, currency: pr.currency, amount: remaining },
    now,
  );
  const transferId = await transfer(tx, { orgId: pr.orgId, mode: pr.mode, kind: 'payment', paymentRequestId: pr.id, postings, now, known: [payer, payee] });
  const payment: Payment = {
    id: newId(),
    orgId: pr.orgId,
    mode: pr.mode,
    paymentRequestId: pr.id,
    rail: 'ledger',
    currency: payer.currency,
    amount: payAmount,
    appliedAmount: remaining,
    amountRefunded: 0n,
    reference: transferId,
    payerAccountId: payer.id,
    status: 'applied',
    chain: null,
    createdAt: now,
  };
  await insertPayment(tx, payment);
  return payment;
}

/** Options of {@link approvePaymentRequest}. */
export interface ApproveOptions {
  /**
   * When the request names its payer and the paying account holds too little, end the request
   * `failed` (`failureReason: insufficient_funds`) instead of refusing: DeltaPay's documented
   * outcome of an approval without funds (docs/dialects/deltapay.md). Off on `/v1`.
   */
  failWhenShort?: boolean;
}

/**
 * The payer approves and pays from a ledger account: `pending → processing → paid` and the
 * transfer payer → payee, in one transaction. An account in a payment option's currency pays
 * the quoted amount through the system FX accounts. An open request (no payer) takes the paying
 * account as its payer, so the approver may read what it paid for (as {@link payFromAccount}).
 *
 * A refusal from the payer's side (the account's currency is no payment option, the account is
 * closed, or it holds too little) writes nothing and leaves the request `pending`, so that a
 * wrong or empty account can neither end someone else's open request nor learn more of it than
 * the refusal (docs/api.md, "Approve"). With {@link ApproveOptions.failWhenShort} a named payer's
 * shortfall ends the request `failed` instead. A repeat by the same key answers the request unchanged.
 * Needs `payment_requests:pay` over the paying account or its party.
 * @throws DomainError `currency_mismatch` (422), `account_closed` (409), `insufficient_funds`
 *   (409), `amount_too_large`, `invalid_transition`, `account_not_found`, `account_not_allowed`
 *   (not the request's payer), `forbidden`, `payment_request_not_found`.
 */
export function approvePaymentRequest(deps: Deps, principal: Principal, id: string, input: { accountId: string }, options: ApproveOptions = {}): Promise<PaymentRequest> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    const { account, payee } = await payerAccountOf(tx, principal, pr, input.accountId);
    if (isRepeat(pr, 'approve', principal.keyId)) return pr;
    // pending → processing → paid in one transaction, written once at the end.
    const processing = transition(pr, { type: 'approve' }, now, principal.keyId);
    if (pr.payerAccountId === null && pr.payerPartyId === null) {
      processing.request.payerAccountId = account.id;
      processing.request.payerPartyId = account.partyId;
    }
    let payment: Payment;
    try {
      payment = await settleFromLedger(tx, deps, processing.request, account, payee, now);
    } catch (err) {
      const named = pr.payerAccountId !== null || pr.payerPartyId !== null;
      if (options.failWhenShort === true && named && isDomainError(err, 'insufficient_funds')) {
        return saveTransitions(tx, deps, pr, [processing, transition(processing.request, { type: 'fail', reason: 'insufficient_funds' }, now, principal.keyId)], now);
      }
      throw err;
    }
    const extras = { payment: presentPayment(payment, pr.currency, deps.currencies) };
    const settled = transition(processing.request, { type: 'settle', payment: { id: payment.id, appliedAmount: payment.appliedAmount } }, now, principal.keyId);
    return saveTransitions(tx, deps, pr, [processing, settled], now, extras);
  });
}

/**
 * The ledger account `accountId` when the key may pay the request from it: an open party
 * ledger account the key holds `payments_requests:pay` over, the request's payer (when it names
 * one) and not its payee.
 * @throws DomainError `payment_request_not_found` (the key sees neither the request nor the
 *   account), `forbidden`, `account_not_found`, `account_not_allowed` (a wallet, the payee, or not
 *   the request's payer).
 */
async function payerAccountOf(tx: Tx, principal: Principal, pr: PaymentRequest, accountId: string): Promise<{ account: Account; payee: Account }> {
  const visible = canSee(principal.grants, scopeOf(pr, 'both'));
  // The paying account and the payee's, in one read.
  const read = await findAccounts(tx, pr.orgId, pr.mode, isUuid(accountId) ? [accountId, pr.payeeAccountId] : [pr.payeeAccountId]);
  const account = read.find((a) => a.id === accountId);
  const payee = read.find((a) => a.id === pr.payeeAccountId);
  if (!account || account.systemPurpose !== null || !allows(principal.grants, 'payment_requests:pay', { accountIds: [account.id], partyIds: [account.partyId] })) {
    if (!visible && !(account && canSeeAccount(principal, account))) throw notFound(pr.id);
    if (account && account.systemPurpose === null && canSeeAccount(principal, account)) {
      throw new DomainError('forbidden', 'this API key may not pay from this account (needs payment_requests:pay)');
    }
    throw fieldError('accountId', `account ${accountId} does not exist`, 'account_not_found');
  }
  if (!payee) throw new Error(`payment request ${pr.id} names payee account ${pr.payeeAccountId}, which does not exist`);
  if (isWallet(account) || isWallet(payee)) {
    throw fieldError('accountId', 'a wallet account pays and is paid on chain (GET /v1/payment-requests/{id}/pay), never from the ledger', 'account_not_allowed');
  }
  const wrongPayer =
    account.id === pr.payeeAccountId ||
    (pr.payerAccountId !== null && pr.payerAccountId !== account.id) ||
    (pr.payerPartyId !== null && pr.payerPartyId !== account.partyId);
  if (wrongPayer) {
    if (!visible) throw notFound(pr.id);
    throw fieldError('accountId', 'this account is not the payer of the payment request', 'account_not_allowed');
  }
  return { account, payee };
}

/** Input for {@link payFromAccount}. */
export interface PayFromAccountInput {
  accountId: string;
  /** A decimal string in the account's currency (a payment option's); default: all that is still owed in it. */
  amount?: string | undefined;
  /** The caller's idempotency reference (Centrapay's `idempotencyKey`); default: the ledger transfer's id. */
  reference?: string | undefined;
}

/**
 * The payer pays from a ledger account in one step, all that is owed or part of it (Centrapay's
 * pay, partial payments included): the transfer payer → payee and `receive_payment` in one
 * transaction; the request stays `pending` until fully paid. An open request (no payer) takes
 * the paying account as its payer. Unlike {@link approvePaymentRequest}
 * a refusal (too little money) stores nothing and leaves the request payable. Idempotent by
 * `reference`: the same reference for the same request answers the first payment.
 * Needs `payment_requests:pay` over the paying account or its party.
 * @returns the payment, the request after it, and whether it was already recorded.
 * @throws DomainError `insufficient_funds`, `account_closed`, `currency_mismatch` (the account's
 *   currency is no payment option), `invalid_amount` (more than is owed, or too little to count),
 *   `payment_reference_conflict`, `invalid_transition`, the errors of the account checks
 *   (`account_not_found`, `account_not_allowed`, `forbidden`), `payment_request_not_found`.
 */
export function payFromAccount(deps: Deps, principal: Principal, id: string, input: PayFromAccountInput): Promise<{ payment: Payment; paymentRequest: PaymentRequest; replayed: boolean }> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    const { account } = await payerAccountOf(tx, principal, pr, input.accountId);
    if (input.reference !== undefined) {
      const existing = await findPaymentByReference(tx, pr.orgId, pr.mode, 'ledger', input.reference);
      if (existing && existing.paymentRequestId === pr.id) return { payment: existing, paymentRequest: pr, replayed: true };
      if (existing) throw fieldError('reference', `reference "${input.reference}" was already used for another payment`, 'payment_reference_conflict');
    }
    assertAllowed(pr, 'receive_payment', now);
    const option = pr.paymentOptions.find((o) => o.currency === account.currency);
    if (!option) throw fieldError('accountId', `the account holds ${account.currency}, which is not a payment option of this request`, 'currency_mismatch');
    const owed = owedInOption(pr, option);
    const amount = input.amount === undefined ? owed : parseAmount(input.amount, deps.currencies.get(account.currency).exponent, { path: 'amount' });
    if (amount > owed) throw fieldError('amount', 'the amount is more than is still owed in this currency', 'invalid_amount');
    const remaining = pr.amount - pr.amountPaid;
    // All that is owed settles the rest exactly; a part counts for its share, rounded down.
    const applied = amount === owed ? remaining : option.currency === pr.currency ? amount : prorate(amount, option.amount, pr.amount, 'down');
    if (applied <= 0n) throw fieldError('amount', 'the amount is too small to count towards the request', 'invalid_amount');
    const paymentId = newId();
    const result = transition(pr, { type: 'receive_payment', payment: { id: paymentId, appliedAmount: applied } }, now, principal.keyId);
    // An open request becomes the paying party's: it sees the request from now on, and its
    // later parts come from it.
    if (pr.payerAccountId === null && pr.payerPartyId === null) {
      result.request.payerAccountId = account.id;
      result.request.payerPartyId = account.partyId;
    }
    const postings = await movementPostings(
      tx,
      pr.orgId,
      pr.mode,
      { accountId: account.id, currency: account.currency, amount },
      { accountId: pr.payeeAccountId, currency: pr.currency, amount: applied },
      now,
    );
    const transferId = await transfer(tx, { orgId: pr.orgId, mode: pr.mode, kind: 'payment', paymentRequestId: pr.id, postings, now });
    const payment: Payment = {
      id: paymentId,
      orgId: pr.orgId,
      mode: pr.mode,
      paymentRequestId: pr.id,
      rail: 'ledger',
      currency: account.currency,
      amount,
      appliedAmount: applied,
      amountRefunded: 0n,
      reference: input.reference ?? transferId,
      payerAccountId: account.id,
      status: 'applied',
      chain: null,
      createdAt: now,
    };
    await insertPayment(tx, payment);
    const next = await saveTransition(tx, deps, pr, result, now, { payment: presentPayment(payment, pr.currency, deps.currencies) });
    return { payment, paymentRequest: next, replayed: false };
  });
}

/** Input for {@link recordPayment}: `amount` is a decimal string in `currency` (default: the request's). */
export interface RecordPaymentInput {
  amount: string;
  reference: string;
  currency?: string | undefined;
}

/** True when a payment recorded in `mode` is held until confirmed (Settings.holdRecordedPayments). */
function holdsRecorded(deps: Deps, mode: Principal['mode']): boolean {
  const hold = deps.settings.holdRecordedPayments;
  return hold === 'all' || (hold === 'live' && mode === 'live');
}

/**
 * Records money received outside the ledger (the external rail; test mode's simulated
 * payment). Idempotent by `reference`: the same reference for the same request and amount
 * answers the first payment. Partial payments accumulate in `amountPaid`; the request is
 * `paid` once fully paid. The payee account is credited from the system `external` account.
 * A payment for a request no longer payable is recorded with status `requires_refund` and
 * moves no money (docs/api.md).
 *
 * Recording is minting: the payee's balance grows by what the caller says arrived, and it can be
 * spent at once. Where `PAYREQ_HOLD_RECORDED_PAYMENTS` holds the mode, the payment is stored
 * `held` instead: nothing moves and the request is unchanged until a key with `payments:confirm`
 * confirms it ({@link confirmRecordedPayment}).
 * Needs `payments:record` over the payee side.
 * @returns the payment, its request after the change, and whether it was already recorded.
 * @throws DomainError `payment_reference_conflict`, `currency_mismatch`, `invalid_amount`,
 *   `amount_too_large`, `forbidden`, `payment_request_not_found`.
 */
export function recordPayment(deps: Deps, principal: Principal, id: string, input: RecordPaymentInput): Promise<{ payment: Payment; paymentRequest: PaymentRequest; replayed: boolean }> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    authorize(principal, pr, 'payments:record', 'payee');
    const currencyCode = input.currency ?? pr.currency;
    const option = pr.paymentOptions.find((o) => o.currency === currencyCode);
    if (!option) throw fieldError('currency', `${currencyCode} is not a payment option of this request`, 'currency_mismatch');
    const amount = parseAmount(input.amount, deps.currencies.get(currencyCode).exponent);
    const existing = await findPaymentByReference(tx, pr.orgId, pr.mode, 'external', input.reference);
    if (existing) {
      if (existing.paymentRequestId === pr.id && existing.amount === amount && existing.currency === currencyCode) {
        return { payment: existing, paymentRequest: pr, replayed: true };
      }
      throw fieldError('reference', `reference "${input.reference}" was already recorded for another payment`, 'payment_reference_conflict');
    }
    const payment: Payment = {
      id: newId(),
      orgId: pr.orgId,
      mode: pr.mode,
      paymentRequestId: pr.id,
      rail: 'external',
      currency: currencyCode,
      amount,
      appliedAmount: 0n,
      amountRefunded: 0n,
      reference: input.reference,
      payerAccountId: null,
      status: 'held',
      chain: null,
      createdAt: now,
    };
    if (holdsRecorded(deps, pr.mode)) {
      // Checked now as at confirmation, so that a payment held is one that can be applied.
      if (pr.status === 'pending' && appliedShare(pr, option, amount) === 0n) throw fieldError('amount', 'the amount is too small to count towards the request', 'invalid_amount');
      await insertPayment(tx, payment);
      return { payment, paymentRequest: pr, replayed: false };
    }
    return applyRecordedPayment(tx, deps, principal, pr, payment, now, 'insert');
  });
}

/** What `amount` of `option`'s currency counts for in the request's currency: its share, rounded down. */
function appliedShare(pr: PaymentRequest, option: PaymentOption, amount: bigint): bigint {
  return option.currency === pr.currency ? amount : prorate(amount, option.amount, pr.amount, 'down');
}

/**
 * Applies a recorded payment to `pr` at `now`: to a payable request, the transfer external →
 * payee (none for a wallet payee) and `receive_payment`; to one no longer payable, status
 * `requires_refund` and no money moved. `write` says whether the payment row is new or a held one
 * now confirmed.
 */
async function applyRecordedPayment(tx: Tx, deps: Deps, principal: Principal, pr: PaymentRequest, held: Payment, now: number, write: 'insert' | 'confirm'): Promise<{ payment: Payment; paymentRequest: PaymentRequest; replayed: boolean }> {
  const option = pr.paymentOptions.find((o) => o.currency === held.currency);
  if (!option) throw new Error(`payment ${held.id} is in ${held.currency}, which is no payment option of ${pr.id}`);
  const { amount, currency: currencyCode } = held;
  // A payment in an option's currency counts for its share of the invoice, rounded down.
  const applied = appliedShare(pr, option, amount);
  const payable = pr.status === 'pending';
  if (payable && applied === 0n) throw fieldError('amount', 'the amount is too small to count towards the request', 'invalid_amount');
  const payment: Payment = { ...held, appliedAmount: payable ? applied : 0n, status: payable ? 'applied' : 'requires_refund' };
  if (write === 'insert') await insertPayment(tx, payment);
  else await setPaymentApplied(tx, payment.id, payment.status, payment.appliedAmount);
  const extras = { payment: presentPayment(payment, pr.currency, deps.currencies) };
  if (!payable) {
    const next = await saveTransition(tx, deps, pr, recordUnappliedPayment(pr, payment.id, now), now, extras);
    return { payment, paymentRequest: next, replayed: false };
  }
  // A wallet payee was paid at its own address: the ledger holds none of it.
  const payeeAccount = await findAccount(tx, pr.orgId, pr.mode, pr.payeeAccountId);
  if (payeeAccount && isWallet(payeeAccount)) {
    const result = transition(pr, { type: 'receive_payment', payment: { id: payment.id, appliedAmount: applied } }, now, principal.keyId);
    return { payment, paymentRequest: await saveTransition(tx, deps, pr, result, now, extras), replayed: false };
  }
  const external = await systemAccount(tx, pr.orgId, pr.mode, currencyCode, 'external', now);
  const postings = await movementPostings(
    tx,
    pr.orgId,
    pr.mode,
    { accountId: external.id, currency: currencyCode, amount },
    { accountId: pr.payeeAccountId, currency: pr.currency, amount: applied },
    now,
  );
  await transfer(tx, { orgId: pr.orgId, mode: pr.mode, kind: 'external_payment', paymentRequestId: pr.id, postings, now });
  const result = transition(pr, { type: 'receive_payment', payment: { id: payment.id, appliedAmount: applied } }, now, principal.keyId);
  const next = await saveTransition(tx, deps, pr, result, now, extras);
  return { payment, paymentRequest: next, replayed: false };
}

/**
 * Confirms a payment held under `PAYREQ_HOLD_RECORDED_PAYMENTS` (found by its `reference`): it is
 * applied now as {@link recordPayment} would have applied it, crediting the payee from the system
 * `external` account, or, if the request is no longer payable, marked `requires_refund` with no
 * money moved. Confirming a payment that is no longer held answers it unchanged (`replayed`).
 * Needs `payments:confirm` over the payee side (`payments:record` alone never confirms).
 * @throws DomainError `forbidden`, `payment_request_not_found`, `validation_failed` (no payment
 *   with this reference on the request), `invalid_amount`, `amount_too_large`, `insufficient_funds`.
 */
export function confirmRecordedPayment(deps: Deps, principal: Principal, id: string, input: { reference: string }): Promise<{ payment: Payment; paymentRequest: PaymentRequest; replayed: boolean }> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    authorize(principal, pr, 'payments:confirm', 'payee');
    const payment = await findPaymentByReference(tx, pr.orgId, pr.mode, 'external', input.reference);
    if (!payment || payment.paymentRequestId !== pr.id) throw fieldError('reference', `no payment with reference "${input.reference}" was recorded for this payment request`);
    if (payment.status !== 'held') return { payment, paymentRequest: pr, replayed: true };
    return applyRecordedPayment(tx, deps, principal, pr, payment, now, 'confirm');
  });
}

/**
 * Refunds `amount` (decimal string in the request's currency) of a paid request, within the
 * refund window after `paidAt`, or of a request that ended (cancelled, declined, expired,
 * failed) holding money paid towards it, with no window and its status kept: what was paid and
 * not refunded (`amountPaid − amountRefunded`) can always go back (docs/api.md, "Refunds"). The refund is taken from the payee account and allocated to
 * the payments newest first: a ledger payment's share goes back to its payer account (through
 * FX at the original quote, rounded down, when it was paid in another currency); an external
 * payment's share goes to the system `external` account, for the operator to send out.
 * Money that moved in the ledger completes the refund at once (`refund.completed` follows
 * `refund.created`); money paid on chain is sent back by the payee itself, so its refund is
 * recorded only. A full refund moves the request to `refunded`. With `reference`, a repeat of
 * the same refund (same reference and amount) answers the first one (`replayed`).
 * Needs `refunds:create` over the payee side.
 * @throws DomainError `invalid_amount`, `refund_exceeds_paid`, `refund_window_closed`,
 *   `invalid_transition`, `insufficient_funds` (the payee account holds too little),
 *   `refund_reference_conflict` (the reference was used for another amount), `forbidden`,
 *   `payment_request_not_found`.
 */
export function refundPaymentRequest(
  deps: Deps,
  principal: Principal,
  id: string,
  input: { amount: string; reason?: string | undefined; reference?: string | undefined },
): Promise<{ refund: Refund; paymentRequest: PaymentRequest; replayed: boolean }> {
  return runCommand(deps, principal, id, async (tx, pr, now) => {
    authorize(principal, pr, 'refunds:create', 'payee');
    const amount = parseAmount(input.amount, deps.currencies.get(pr.currency).exponent);
    if (input.reference !== undefined) {
      const existing = await findRefundByReference(tx, pr.id, input.reference);
      if (existing?.amount === amount) return { refund: existing, paymentRequest: pr, replayed: true };
      if (existing) throw fieldError('reference', `reference "${input.reference}" was already used for a refund of another amount`, 'refund_reference_conflict');
    }
    const refund: Refund = { id: newId(), orgId: pr.orgId, mode: pr.mode, paymentRequestId: pr.id, amount, reason: input.reason ?? null, createdBy: principal.keyId, createdAt: now, reference: input.reference ?? null };

    // Allocate the refund to the payments, newest first.
    const allocations: { payment: Payment; share: bigint }[] = [];
    let left = amount;
    for (const p of (await listPayments(tx, pr.id)).filter((x) => x.status === 'applied').reverse()) {
      if (left === 0n) break;
      const share = p.appliedAmount - p.amountRefunded < left ? p.appliedAmount - p.amountRefunded : left;
      if (share <= 0n) continue;
      left -= share;
      allocations.push({ payment: p, share });
    }
    const payeeAccount = await findAccount(tx, pr.orgId, pr.mode, pr.payeeAccountId);
    const payeeHoldsNothing = payeeAccount !== undefined && isWallet(payeeAccount);
    // Money paid on chain, or to a wallet payee, never entered the ledger: the payee sends the
    // refund back itself (Payreq holds no keys); the refund is recorded all the same.
    const settled = !payeeHoldsNothing && allocations.length > 0 && allocations.every((a) => a.payment.rail !== 'evm');
    const result = transition(pr, { type: 'refund', refund: { id: refund.id, amount }, refundWindowMs: deps.settings.refundWindowSeconds * 1000, settled }, now, principal.keyId);
    if (left !== 0n) throw new Error(`refund allocation left ${left} minor units unallocated`);

    const postings: Posting[] = [];
    for (const { payment: p, share } of allocations) {
      await setPaymentRefunded(tx, p.id, p.amountRefunded + share);
      if (p.rail === 'evm' || payeeHoldsNothing) continue;
      const from = { accountId: pr.payeeAccountId, currency: pr.currency, amount: share };
      if (p.rail === 'ledger' && p.payerAccountId !== null) {
        const back = p.currency === pr.currency ? share : prorate(share, p.appliedAmount, p.amount, 'down');
        postings.push(...(await movementPostings(tx, pr.orgId, pr.mode, from, { accountId: p.payerAccountId, currency: p.currency, amount: back }, now)));
      } else {
        const external = await systemAccount(tx, pr.orgId, pr.mode, pr.currency, 'external', now);
        postings.push(...(await movementPostings(tx, pr.orgId, pr.mode, from, { accountId: external.id, currency: pr.currency, amount: share }, now)));
      }
    }
    if (postings.length > 0) await transfer(tx, { orgId: pr.orgId, mode: pr.mode, kind: 'refund', paymentRequestId: pr.id, postings, now });
    try {
      await insertRefund(tx, refund);
    } catch (err) {
      if (isUniqueViolation(err, 'reference')) throw new StaleWrite();
      throw err;
    }
    const next = await saveTransition(tx, deps, pr, result, now, { refund: presentRefund(refund, pr.currency, deps.currencies) });
    return { refund, paymentRequest: next, replayed: false };
  });
}

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
      await recordEvents(tx, events, now);
      return claimed.length;
    }),
  );
}
