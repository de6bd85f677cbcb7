/**
 * The payment request and its state machine (docs/api.md).
 *
 * One transition table ({@link TRANSITIONS}) and one pure function {@link transition} that
 * every writer goes through. It returns the next state and the events the change produces,
 * each with the request's next `sequence`; persistence then does a compare-and-set on the
 * previous status and sequence, so two racing commands never both win.
 *
 * ```
 * pending ──cancel (payee)──────► cancelled
 * pending ──decline (payer)─────► declined
 * pending ──expire──────────────► expired
 * pending ──approve (payer)─────► processing ──settle──► paid
 * pending ──receive_payment─────► paid        (or stays pending while partially paid)
 * processing ──fail─────────────► failed
 * paid ──refund (full)──────────► refunded    (partial refunds keep it paid)
 * paid ──revert_payment─────────► pending     (a reorg removed a payment it was paid with)
 * cancelled|declined|expired|failed ──refund──► (status kept)   (what a partly paid request took goes back)
 * ```
 *
 * A request that ends (cancelled, declined, expired) holding money it did not keep says so:
 * its ending event carries `requiresRefund: true`, and the payee refunds `amountPaid −
 * amountRefunded` from that status, with no refund window (docs/api.md, "Refunds").
 */
import { DomainError } from './errors.js';
import { MAX_MINOR_UNITS, prorate } from './money.js';

/** Every status a payment request can be in. */
export const PAYMENT_REQUEST_STATUSES = ['pending', 'processing', 'paid', 'failed', 'cancelled', 'declined', 'expired', 'refunded'] as const;
/** A payment request's status. */
export type PaymentRequestStatus = (typeof PAYMENT_REQUEST_STATUSES)[number];

/** `live` or `test` (Centrapay's liveness main/test, Stripe's test mode). */
export type Mode = 'live' | 'test';

/** Why a ledger settlement failed (docs/api.md). */
export type FailureReason = 'insufficient_funds' | 'currency_not_accepted' | 'account_closed';

/** What the payer may pay with: `amount` in minor units of `currency`, fixed at creation from `rate`. */
export interface PaymentOption {
  currency: string;
  amount: bigint;
  /** Decimal string: 1 unit of the invoice currency buys `rate` units of `currency`. */
  rate: string;
  /** For a token payable on chain: the payee's address that receives it (EIP-55 checksummed). */
  address?: string | undefined;
}

/** One order line (Centrapay's line item). `price` is in minor units of the request's currency and may be negative (a discount). */
export interface LineItem {
  name: string;
  sku: string;
  /** Quantity as a decimal string (Centrapay's BigNumber): item count, weight, volume… */
  qty: string;
  price: bigint;
}

/** A party of a request as it was at creation: its number, kind and name (username or legal name). */
export interface PartyRef {
  number: number;
  type: 'user' | 'legal_entity';
  name: string | null;
}

/** Who a request is between, at creation: the payee party with its account's number, and the payer party if known. */
export interface PartiesOfRequest {
  payee: PartyRef & { accountNumber: number | null };
  payer: PartyRef | null;
}

/**
 * What the dialects keep on a request for their own answers, keyed by dialect name
 * (`{"pismo": {"location": …}, "deltapay": {"metadata": "…"}}`). Apart from the caller's
 * `metadata`: /v1 never shows it and cannot write it; each dialect validates and reads only its
 * own slice (src/dialects/<name>/data.ts, docs/api.md "Metadata").
 */
export type DialectData = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** The payment request as the domain sees it. Amounts are minor units of `currency`; times are epoch milliseconds. */
export interface PaymentRequest {
  id: string;
  orgId: string;
  mode: Mode;
  status: PaymentRequestStatus;
  amount: bigint;
  currency: string;
  payeeAccountId: string;
  payeePartyId: string;
  payerAccountId: string | null;
  payerPartyId: string | null;
  paymentOptions: PaymentOption[];
  expiresAt: number;
  description: string | null;
  metadata: Record<string, unknown> | null;
  /** The dialects' own data ({@link DialectData}), null when no dialect wrote any. */
  dialectData: DialectData | null;
  externalId: string | null;
  lineItems: LineItem[] | null;
  customer: { email?: string | undefined; reference?: string | undefined } | null;
  redirectUrls: { store?: string | undefined; success?: string | undefined; failed?: string | undefined } | null;
  merchant: Record<string, unknown> | null;
  patronCodeId: string | null;
  transactionType: string | null;
  tillId: string | null;
  amountPaid: bigint;
  amountRefunded: bigint;
  paidAt: number | null;
  failureReason: FailureReason | null;
  code: string;
  paymentReference: string;
  salt: string;
  /** Per org and mode, from 1: the integer id the dialects speak in (DeltaPay's `payment_request_id`). */
  number: number;
  /** Payee and payer parties at creation; null on requests created before Payreq recorded them. */
  parties: PartiesOfRequest | null;
  /** The sequence of the last event written for this request; also the row's version. */
  sequence: number;
  /** The command that set the current status and the API key that issued it: lets a repeat answer 200. */
  statusCause: CommandType | null;
  statusActor: string | null;
  createdAt: number;
  updatedAt: number;
}

/** Every event type Payreq writes. */
export const EVENT_TYPES = [
  'payment_request.created',
  'payment_request.processing',
  'payment_request.paid',
  'payment_request.failed',
  'payment_request.cancelled',
  'payment_request.declined',
  'payment_request.expired',
  'payment_request.refunded',
  'payment.received',
  'payment.reverted',
  'refund.created',
  'refund.completed',
  'webhook_endpoint.disabled',
] as const;
/** An event type such as `payment_request.paid`. */
export type EventType = (typeof EVENT_TYPES)[number];

/** An event the transition produced; the use case adds ids and the request snapshot. */
export interface DomainEvent {
  type: EventType;
  sequence: number;
  /** Extra payload: the payment for `payment.received`, the refund for `refund.created`. */
  data?: Record<string, unknown>;
}

/** A payment as the state machine needs it: `appliedAmount` is in minor units of the request's currency. */
export interface PaymentFact {
  id: string;
  appliedAmount: bigint;
}

/** A refund as the state machine needs it: `amount` is in minor units of the request's currency. */
export interface RefundFact {
  id: string;
  amount: bigint;
}

/** A command to the state machine. */
export type Command =
  | { type: 'approve' }
  | { type: 'settle'; payment: PaymentFact }
  | { type: 'fail'; reason: FailureReason }
  | { type: 'cancel' }
  | { type: 'decline' }
  | { type: 'expire' }
  | { type: 'receive_payment'; payment: PaymentFact }
  | { type: 'revert_payment'; payment: PaymentFact }
  | { type: 'refund'; refund: RefundFact; refundWindowMs: number; settled?: boolean };

/** The type of a {@link Command}. */
export type CommandType = Command['type'];

/**
 * The transition table: for each command, the statuses it may start from. Anything else is
 * `invalid_transition`. The target is decided by {@link transition} (a payment or a refund
 * may leave the status as it is).
 */
export const TRANSITIONS: Readonly<Record<CommandType, readonly PaymentRequestStatus[]>> = {
  approve: ['pending'],
  settle: ['processing'],
  fail: ['processing'],
  cancel: ['pending'],
  decline: ['pending'],
  expire: ['pending'],
  receive_payment: ['pending'],
  // A chain reorganization deeper than the confirmations removed a recorded payment: the
  // request no longer counts it. A paid request that is no longer fully paid goes back to
  // pending (and so reads as expired at once if its expiry has passed). From any other status
  // the payment is marked reverted without a status change (recordRevertedPayment).
  revert_payment: ['pending', 'paid'],
  // Money paid on a request that then ended without being paid in full must be able to go back:
  // a refund applies from every status a request ends in holding money, not only from `paid`.
  refund: ['paid', 'cancelled', 'declined', 'expired', 'failed'],
};

/** The statuses a request ends in without being paid: money it holds then is refunded, never kept. */
export const UNPAID_ENDINGS: readonly PaymentRequestStatus[] = ['cancelled', 'declined', 'expired', 'failed'];

/** The status a command leads to when it has taken effect; a repeat of it answers with the request unchanged. */
export const COMMAND_OUTCOMES: Readonly<Record<CommandType, readonly PaymentRequestStatus[]>> = {
  approve: ['processing', 'paid', 'failed'],
  settle: ['paid'],
  fail: ['failed'],
  cancel: ['cancelled'],
  decline: ['declined'],
  expire: ['expired'],
  receive_payment: ['pending', 'paid'],
  revert_payment: ['pending'],
  refund: ['paid', 'refunded', ...UNPAID_ENDINGS],
};

/** The result of a transition: the next request state and the events to write with it. */
export interface TransitionResult {
  request: PaymentRequest;
  events: DomainEvent[];
}

/**
 * What is still owed in a payment option, in the option currency's minor (for tokens: base)
 * units: the unpaid part of the invoice at the option's quoted share, rounded up (the payee
 * never receives less than asked). 0 when nothing is owed.
 */
export function owedInOption(request: Pick<PaymentRequest, 'amount' | 'amountPaid' | 'currency'>, option: Pick<PaymentOption, 'currency' | 'amount'>): bigint {
  const remaining = request.amount - request.amountPaid;
  if (remaining <= 0n) return 0n;
  return option.currency === request.currency ? remaining : prorate(remaining, request.amount, option.amount, 'up');
}

/** True when a pending request's expiry time has passed at `now` (epoch ms). */
export function isDue(request: Pick<PaymentRequest, 'status' | 'expiresAt'>, now: number): boolean {
  return request.status === 'pending' && request.expiresAt <= now;
}

/**
 * The status a reader sees at `now`: a pending request past `expiresAt` reads as `expired`
 * at once, before the sweeper has persisted the transition.
 */
export function effectiveStatus(request: Pick<PaymentRequest, 'status' | 'expiresAt'>, now: number): PaymentRequestStatus {
  return isDue(request, now) ? 'expired' : request.status;
}

function invalid(request: PaymentRequest, command: CommandType, message?: string): DomainError {
  return new DomainError('invalid_transition', message ?? `cannot ${command.replace('_', ' ')} a payment request that is ${request.status}`, {
    details: { currentStatus: request.status, command },
  });
}

/**
 * Throws when the transition table forbids `command` from the request's status at `now` (a
 * pending request already due takes only `expire`, and a chain revert): the check
 * {@link transition} starts with, for a use case that must refuse before it does other work.
 * @throws DomainError `invalid_transition` with details `{currentStatus, command}`.
 */
export function assertAllowed(request: Pick<PaymentRequest, 'status' | 'expiresAt'>, command: CommandType, now: number): void {
  if (!TRANSITIONS[command].includes(request.status)) {
    throw new DomainError('invalid_transition', `cannot ${command.replace('_', ' ')} a payment request that is ${request.status}`, { details: { currentStatus: request.status, command } });
  }
  // A reorg does not wait for the expiry sweeper: a due request loses the payment all the same.
  if (command !== 'expire' && command !== 'revert_payment' && isDue(request, now)) {
    throw new DomainError('invalid_transition', `cannot ${command.replace('_', ' ')} a payment request that is expired`, { details: { currentStatus: 'expired', command } });
  }
}

/** The extra payload of an ending event when the request holds paid money that was not refunded: `{requiresRefund: true}`. */
function heldMoney(request: Pick<PaymentRequest, 'amountPaid' | 'amountRefunded'>): Record<string, unknown> | undefined {
  return request.amountPaid > request.amountRefunded ? { requiresRefund: true } : undefined;
}

/**
 * Applies `command` to `request` at `now` (epoch ms), as `actor` (an API key id, or null for
 * the system). Pure: it returns a new object and never touches its input.
 *
 * @returns the next state and its events, each with the next `sequence`.
 * @throws DomainError `invalid_transition` (details `{currentStatus, command}`) when the table
 *   forbids the command from the current status, when a pending request is already due
 *   (only `expire` applies then); `refund_window_closed` when a refund of a paid request comes
 *   after the window (a request that ended unpaid has no `paidAt`, so no window);
 *   `refund_exceeds_paid` when a refund would take the refunded total above what was paid;
 *   `amount_too_large` when a payment would take `amountPaid` past 2^256 − 1 minor units.
 */
export function transition(request: PaymentRequest, command: Command, now: number, actor: string | null = null): TransitionResult {
  assertAllowed(request, command.type, now);

  let sequence = request.sequence;
  const events: DomainEvent[] = [];
  const emit = (type: EventType, data?: Record<string, unknown>): void => {
    sequence += 1;
    events.push(data === undefined ? { type, sequence } : { type, sequence, data });
  };
  const next: PaymentRequest = { ...request, updatedAt: now };
  const setStatus = (status: PaymentRequestStatus): void => {
    next.status = status;
    // Settlement and failure complete the approve that started processing: the cause stays
    // the approve, so that the approver's repeat is recognized (isRepeat).
    if (command.type === 'settle' || command.type === 'fail') return;
    next.statusCause = command.type;
    next.statusActor = actor;
  };

  switch (command.type) {
    case 'approve':
      setStatus('processing');
      emit('payment_request.processing');
      break;
    case 'settle':
    case 'receive_payment': {
      if (command.payment.appliedAmount <= 0n) throw new DomainError('invalid_amount', 'a payment must apply a positive amount');
      next.amountPaid = request.amountPaid + command.payment.appliedAmount;
      if (next.amountPaid > MAX_MINOR_UNITS) {
        throw new DomainError('amount_too_large', 'the payment would take the amount paid past 2^256 - 1 minor units', { details: { limit: MAX_MINOR_UNITS.toString() } });
      }
      emit('payment.received', { paymentId: command.payment.id });
      if (next.amountPaid >= next.amount || command.type === 'settle') {
        setStatus('paid');
        next.paidAt = now;
        emit('payment_request.paid');
      } else if (command.type === 'receive_payment') {
        // A partial payment keeps the request pending; it records who moved it last.
        next.statusCause = command.type;
        next.statusActor = actor;
      }
      break;
    }
    case 'revert_payment': {
      const { payment } = command;
      if (payment.appliedAmount < 0n) throw new DomainError('invalid_amount', 'a reverted payment cannot have a negative applied amount');
      next.amountPaid = request.amountPaid - payment.appliedAmount;
      if (next.amountPaid < 0n) throw new DomainError('invalid_amount', 'a reverted payment cannot take amountPaid below zero');
      emit('payment.reverted', { paymentId: payment.id });
      if (request.status === 'paid' && next.amountPaid < next.amount) {
        setStatus('pending');
        next.paidAt = null;
      }
      break;
    }
    case 'fail':
      setStatus('failed');
      next.failureReason = command.reason;
      emit('payment_request.failed', { reason: command.reason });
      break;
    case 'cancel':
      setStatus('cancelled');
      emit('payment_request.cancelled', heldMoney(request));
      break;
    case 'decline':
      setStatus('declined');
      emit('payment_request.declined', heldMoney(request));
      break;
    case 'expire':
      if (!isDue(request, now)) throw invalid(request, 'expire', 'the payment request has not reached its expiry time');
      setStatus('expired');
      emit('payment_request.expired', heldMoney(request));
      break;
    case 'refund': {
      const { refund, refundWindowMs } = command;
      if (refund.amount <= 0n) throw new DomainError('invalid_amount', 'a refund must be positive');
      if (request.paidAt !== null && now > request.paidAt + refundWindowMs) {
        throw new DomainError('refund_window_closed', 'the refund window of this payment request has closed', {
          details: { paidAt: new Date(request.paidAt).toISOString(), refundWindowSeconds: refundWindowMs / 1000 },
        });
      }
      const refunded = request.amountRefunded + refund.amount;
      if (refunded > request.amountPaid) {
        throw new DomainError('refund_exceeds_paid', 'the refunds would exceed what was paid', {
          details: { amountPaid: request.amountPaid.toString(), amountRefunded: request.amountRefunded.toString() },
          errors: [{ path: 'amount', message: 'the refunds would exceed what was paid' }],
        });
      }
      next.amountRefunded = refunded;
      emit('refund.created', { refundId: refund.id });
      // The money went back in the same transaction (the ledger): the refund is complete at
      // once. A refund of money paid on chain waits for the payee to send it (never `settled`).
      if (command.settled === true) emit('refund.completed', { refundId: refund.id });
      // A request that ended unpaid keeps the status it ended in: the refund only returns what it took.
      if (refunded === request.amountPaid && request.status === 'paid') {
        setStatus('refunded');
        emit('payment_request.refunded');
      }
      break;
    }
  }
  next.sequence = sequence;
  return { request: next, events };
}

/**
 * Records a payment that arrived for a request no longer payable (docs/api.md: "still
 * recorded, never lost, and flagged for refund"): the status stays, the sequence moves on and
 * a `payment.received` event says `requiresRefund: true`.
 * @throws DomainError `invalid_transition` when the request is still payable (apply the payment instead).
 */
export function recordUnappliedPayment(request: PaymentRequest, paymentId: string, now: number): TransitionResult {
  if (request.status === 'pending' && !isDue(request, now)) {
    throw new DomainError('invalid_transition', 'a payable request applies its payments', { details: { currentStatus: request.status, command: 'receive_payment' } });
  }
  const sequence = request.sequence + 1;
  return {
    request: { ...request, sequence, updatedAt: now },
    events: [{ type: 'payment.received', sequence, data: { paymentId, requiresRefund: true } }],
  };
}

/**
 * Records that a reorg removed a payment of a request whose status no revert changes
 * (`refunded`, `cancelled`, `expired`…; a payment that was flagged for refund): the status
 * stays, `amountPaid` drops by what the payment counted for (`appliedAmount`, 0 for an
 * unapplied payment), and a `payment.reverted` event records it.
 * @throws DomainError `invalid_transition` when the status is one {@link transition} handles.
 */
export function recordRevertedPayment(request: PaymentRequest, payment: PaymentFact, now: number): TransitionResult {
  if (TRANSITIONS.revert_payment.includes(request.status) && payment.appliedAmount > 0n) {
    throw new DomainError('invalid_transition', 'a pending or paid request reverts through the transition table', { details: { currentStatus: request.status, command: 'revert_payment' } });
  }
  const sequence = request.sequence + 1;
  const amountPaid = request.amountPaid - payment.appliedAmount;
  return {
    request: { ...request, amountPaid: amountPaid < 0n ? 0n : amountPaid, sequence, updatedAt: now },
    events: [{ type: 'payment.reverted', sequence, data: { paymentId: payment.id } }],
  };
}

/**
 * True when `command` by `actor` is a repeat of the command that already set the request's
 * current status: the API answers it with the request unchanged (200) instead of 409.
 * Only the same actor's repeat counts, so in a race between callers exactly one wins and the
 * others get `invalid_transition`.
 */
export function isRepeat(request: PaymentRequest, command: CommandType, actor: string | null): boolean {
  return (
    request.statusCause === command &&
    request.statusActor === actor &&
    COMMAND_OUTCOMES[command].includes(request.status) &&
    !TRANSITIONS[command].includes(request.status)
  );
}
