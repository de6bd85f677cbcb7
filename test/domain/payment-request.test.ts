import { describe, expect, it } from 'vitest';
import { DomainError, isDomainError } from '../../src/domain/errors.js';
import { MAX_MINOR_UNITS } from '../../src/domain/money.js';
import {
  type Command,
  type CommandType,
  effectiveStatus,
  isRepeat,
  PAYMENT_REQUEST_STATUSES,
  type PaymentRequest,
  type PaymentRequestStatus,
  owedInOption,
  recordRevertedPayment,
  recordUnappliedPayment,
  transition,
  TRANSITIONS,
  UNPAID_ENDINGS,
} from '../../src/domain/payment-request.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function request(status: PaymentRequestStatus, fields: Partial<PaymentRequest> = {}): PaymentRequest {
  const paid = status === 'paid' || status === 'refunded';
  return {
    id: 'pr_1', orgId: 'org', mode: 'test', status, amount: 1000n, currency: 'USD',
    payeeAccountId: 'acc_payee', payeePartyId: 'party_payee', payerAccountId: null, payerPartyId: null,
    paymentOptions: [{ currency: 'USD', amount: 1000n, rate: '1' }], expiresAt: NOW + HOUR,
    description: null, metadata: null, dialectData: null, externalId: null, lineItems: null, customer: null, redirectUrls: null, merchant: null,
    patronCodeId: null, transactionType: null, tillId: null,
    amountPaid: paid ? 1000n : 0n, amountRefunded: status === 'refunded' ? 1000n : 0n, paidAt: paid ? NOW - HOUR : null,
    failureReason: null, code: 'CODE', number: 1, parties: null, paymentReference: 'ref', salt: 'salt', sequence: 3, statusCause: null, statusActor: null,
    createdAt: NOW - 2 * HOUR, updatedAt: NOW - 2 * HOUR,
    ...fields,
  };
}

const COMMANDS: Record<CommandType, Command> = {
  approve: { type: 'approve' },
  settle: { type: 'settle', payment: { id: 'pay_1', appliedAmount: 1000n } },
  fail: { type: 'fail', reason: 'insufficient_funds' },
  cancel: { type: 'cancel' },
  decline: { type: 'decline' },
  expire: { type: 'expire' },
  receive_payment: { type: 'receive_payment', payment: { id: 'pay_1', appliedAmount: 1000n } },
  revert_payment: { type: 'revert_payment', payment: { id: 'pay_1', appliedAmount: 400n } },
  refund: { type: 'refund', refund: { id: 'ref_1', amount: 1000n }, refundWindowMs: 30 * DAY },
};

/** The status each allowed command leads to from its source (full payment / full refund). */
const TARGET: Record<CommandType, PaymentRequestStatus> = {
  approve: 'processing', settle: 'paid', fail: 'failed', cancel: 'cancelled', decline: 'declined',
  expire: 'expired', receive_payment: 'paid', revert_payment: 'pending', refund: 'refunded',
};

/**
 * The request a command is tried on: a pending request has a partial payment for revert_payment
 * to take back; a request that ended unpaid holds money for a refund to give back.
 */
function fixture(command: CommandType, status: PaymentRequestStatus): PaymentRequest {
  if (command === 'revert_payment' && status === 'pending') return request(status, { amountPaid: 600n });
  if (command === 'refund' && UNPAID_ENDINGS.includes(status)) return request(status, { amountPaid: 1000n });
  return request(status);
}

/** The status a command leads to from `status`: a refund keeps the status a request ended unpaid in. */
function targetOf(command: CommandType, status: PaymentRequestStatus): PaymentRequestStatus {
  return command === 'refund' && status !== 'paid' ? status : TARGET[command];
}

function timeFor(command: CommandType, pr: PaymentRequest): number {
  return command === 'expire' ? pr.expiresAt : NOW;
}

describe('transition table', () => {
  for (const command of Object.keys(COMMANDS) as CommandType[]) {
    for (const status of PAYMENT_REQUEST_STATUSES) {
      const allowed = TRANSITIONS[command].includes(status);
      it(`${allowed ? 'allows' : 'forbids'} ${command} from ${status}`, () => {
        const pr = fixture(command, status);
        if (allowed) {
          const result = transition(pr, COMMANDS[command], timeFor(command, pr), 'key_1');
          expect(result.request.status).toBe(targetOf(command, status));
          expect(result.events.length).toBeGreaterThan(0);
          expect(result.events.map((e) => e.sequence)).toEqual(result.events.map((_, i) => pr.sequence + 1 + i));
          expect(result.request.sequence).toBe(pr.sequence + result.events.length);
          expect(pr.status).toBe(status); // the input is untouched
        } else {
          let error: unknown;
          try {
            transition(pr, COMMANDS[command], timeFor(command, pr), 'key_1');
          } catch (err) {
            error = err;
          }
          expect(isDomainError(error, 'invalid_transition')).toBe(true);
          expect((error as DomainError).details['currentStatus']).toBe(status);
        }
      });
    }
  }

  it('has exactly the transitions of the state machine (docs/api.md)', () => {
    expect(TRANSITIONS).toEqual({
      approve: ['pending'], settle: ['processing'], fail: ['processing'], cancel: ['pending'], decline: ['pending'],
      expire: ['pending'], receive_payment: ['pending'], revert_payment: ['pending', 'paid'],
      refund: ['paid', 'cancelled', 'declined', 'expired', 'failed'],
    });
  });
});

describe('bounds and money held at the end', () => {
  it('refuses a payment that would take amountPaid past 2^256 - 1 minor units with amount_too_large', () => {
    const pr = request('pending', { amount: MAX_MINOR_UNITS, amountPaid: MAX_MINOR_UNITS - 1n });
    let error: unknown;
    try {
      transition(pr, { type: 'receive_payment', payment: { id: 'pay_big', appliedAmount: 2n } }, NOW, 'key_1');
    } catch (err) {
      error = err;
    }
    expect(isDomainError(error, 'amount_too_large')).toBe(true);
  });

  it('marks the ending of a partly paid request requiresRefund, and not that of an unpaid one', () => {
    for (const command of [{ type: 'cancel' }, { type: 'decline' }] as const) {
      expect(transition(request('pending', { amountPaid: 400n }), command, NOW, 'key_1').events[0]?.data).toEqual({ requiresRefund: true });
      expect(transition(request('pending'), command, NOW, 'key_1').events[0]?.data).toBeUndefined();
    }
  });
});

describe('reverted payments (a reorg deeper than the confirmations)', () => {
  it('takes a paid request back to pending when it is no longer fully paid, with payment.reverted', () => {
    const { request: next, events } = transition(request('paid'), COMMANDS.revert_payment, NOW);
    expect(next.status).toBe('pending');
    expect(next.amountPaid).toBe(600n);
    expect(next.paidAt).toBeNull();
    expect(events.map((e) => e.type)).toEqual(['payment.reverted']);
    expect(events[0]?.data).toEqual({ paymentId: 'pay_1' });
  });

  it('keeps a paid request paid when an over-payment covers the reverted one', () => {
    const { request: next } = transition(request('paid', { amountPaid: 1500n }), COMMANDS.revert_payment, NOW);
    expect(next.status).toBe('paid');
    expect(next.amountPaid).toBe(1100n);
  });

  it('reverts on a pending request past its expiry (a reorg does not wait for the sweeper)', () => {
    const pr = request('pending', { amountPaid: 600n, expiresAt: NOW - 1 });
    expect(transition(pr, COMMANDS.revert_payment, NOW).request.amountPaid).toBe(200n);
  });

  it('refuses to take amountPaid below zero', () => {
    expect(() => transition(request('pending'), COMMANDS.revert_payment, NOW)).toThrow(DomainError);
  });

  it('records a reverted payment on a terminal request without changing its status', () => {
    const { request: next, events } = recordRevertedPayment(request('refunded'), { id: 'pay_1', appliedAmount: 1000n }, NOW);
    expect(next.status).toBe('refunded');
    expect(next.amountPaid).toBe(0n);
    expect(events).toEqual([{ type: 'payment.reverted', sequence: 4, data: { paymentId: 'pay_1' } }]);
    expect(() => recordRevertedPayment(request('paid'), { id: 'pay_1', appliedAmount: 1000n }, NOW)).toThrow(DomainError);
  });
});

describe('events', () => {
  it('emits payment.received then payment_request.paid on settlement', () => {
    const { events } = transition(request('processing'), COMMANDS.settle, NOW);
    expect(events.map((e) => e.type)).toEqual(['payment.received', 'payment_request.paid']);
  });

  it('emits refund.created then payment_request.refunded on a full refund', () => {
    const { events } = transition(request('paid'), COMMANDS.refund, NOW);
    expect(events.map((e) => e.type)).toEqual(['refund.created', 'payment_request.refunded']);
  });

  it('records the failure reason', () => {
    const { request: next, events } = transition(request('processing'), COMMANDS.fail, NOW);
    expect(next.failureReason).toBe('insufficient_funds');
    expect(events[0]?.data).toEqual({ reason: 'insufficient_funds' });
  });
});

describe('partial payments and refunds', () => {
  it('keeps a partially paid request pending and pays it when the rest arrives', () => {
    const first = transition(request('pending'), { type: 'receive_payment', payment: { id: 'p1', appliedAmount: 400n } }, NOW);
    expect(first.request).toMatchObject({ status: 'pending', amountPaid: 400n, paidAt: null });
    expect(first.events.map((e) => e.type)).toEqual(['payment.received']);
    const second = transition(first.request, { type: 'receive_payment', payment: { id: 'p2', appliedAmount: 600n } }, NOW);
    expect(second.request).toMatchObject({ status: 'paid', amountPaid: 1000n, paidAt: NOW });
  });

  it('keeps a partially refunded request paid', () => {
    const { request: next } = transition(request('paid'), { type: 'refund', refund: { id: 'r', amount: 300n }, refundWindowMs: DAY }, NOW);
    expect(next).toMatchObject({ status: 'paid', amountRefunded: 300n });
  });

  it('rejects refunds beyond what was paid', () => {
    expect(() => transition(request('paid', { amountRefunded: 800n }), { type: 'refund', refund: { id: 'r', amount: 201n }, refundWindowMs: DAY }, NOW)).toThrow(
      expect.objectContaining({ code: 'refund_exceeds_paid' }),
    );
  });

  it('rejects refunds after the window', () => {
    expect(() => transition(request('paid', { paidAt: NOW - 2 * DAY }), { type: 'refund', refund: { id: 'r', amount: 1n }, refundWindowMs: DAY }, NOW)).toThrow(
      expect.objectContaining({ code: 'refund_window_closed' }),
    );
  });

  it('rejects non-positive payments and refunds', () => {
    expect(() => transition(request('pending'), { type: 'receive_payment', payment: { id: 'p', appliedAmount: 0n } }, NOW)).toThrow(expect.objectContaining({ code: 'invalid_amount' }));
    expect(() => transition(request('paid'), { type: 'refund', refund: { id: 'r', amount: 0n }, refundWindowMs: DAY }, NOW)).toThrow(expect.objectContaining({ code: 'invalid_amount' }));
  });
});

describe('expiry', () => {
  it('reads a pending request past expiresAt as expired', () => {
    const pr = request('pending');
    expect(effectiveStatus(pr, pr.expiresAt - 1)).toBe('pending');
    expect(effectiveStatus(pr, pr.expiresAt)).toBe('expired');
    expect(effectiveStatus(request('paid'), pr.expiresAt + DAY)).toBe('paid');
  });

  it('refuses to expire before the expiry time', () => {
    const pr = request('pending');
    expect(() => transition(pr, COMMANDS.expire, pr.expiresAt - 1)).toThrow(expect.objectContaining({ code: 'invalid_transition' }));
  });

  it('answers every other command on a due request as expired', () => {
    const pr = request('pending');
    for (const command of ['approve', 'cancel', 'decline', 'receive_payment'] as const) {
      expect(() => transition(pr, COMMANDS[command], pr.expiresAt + 1)).toThrow(expect.objectContaining({ details: expect.objectContaining({ currentStatus: 'expired' }) }));
    }
  });
});

describe('isRepeat', () => {
  it('recognizes the same actor repeating the command that set the status', () => {
    const { request: cancelled } = transition(request('pending'), COMMANDS.cancel, NOW, 'key_1');
    expect(isRepeat(cancelled, 'cancel', 'key_1')).toBe(true);
    expect(isRepeat(cancelled, 'cancel', 'key_2')).toBe(false);
    expect(isRepeat(cancelled, 'decline', 'key_1')).toBe(false);
  });

  it('never treats a command that can still apply as a repeat', () => {
    expect(isRepeat(request('pending', { statusCause: 'receive_payment', statusActor: 'k' }), 'receive_payment', 'k')).toBe(false);
  });
});

describe('recordUnappliedPayment', () => {
  it('moves the sequence on and flags the payment for refund without changing the status', () => {
    const pr = request('cancelled');
    const { request: next, events } = recordUnappliedPayment(pr, 'pay_9', NOW);
    expect(next.status).toBe('cancelled');
    expect(next.sequence).toBe(pr.sequence + 1);
    expect(events).toEqual([{ type: 'payment.received', sequence: pr.sequence + 1, data: { paymentId: 'pay_9', requiresRefund: true } }]);
  });

  it('refuses a payable request', () => {
    expect(() => recordUnappliedPayment(request('pending'), 'p', NOW)).toThrow(DomainError);
  });
});

describe('owedInOption', () => {
  it('is the unpaid rest in the invoice currency, and the quoted share rounded up in another', () => {
    const pr = request('pending', { amount: 1000n, amountPaid: 333n });
    expect(owedInOption(pr, { currency: 'USD', amount: 1000n })).toBe(667n);
    // 667/1000 of 7 minor units is 4.669: rounded up to 5, the payee never gets less.
    expect(owedInOption(pr, { currency: 'EUR', amount: 7n })).toBe(5n);
    expect(owedInOption(request('pending', { amountPaid: 1200n }), { currency: 'USD', amount: 1000n })).toBe(0n);
  });
});
