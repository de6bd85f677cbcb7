import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocateRefund, type RefundablePayment, shareInPaymentCurrency } from '../../src/domain/refunds.js';

function payment(id: string, appliedAmount: bigint, fields: Partial<RefundablePayment> = {}): RefundablePayment & { id: string } {
  return { id, status: 'applied', currency: 'USD', amount: appliedAmount, appliedAmount, amountRefunded: 0n, ...fields };
}

describe('allocateRefund (the refund allocation)', () => {
  it('takes from the newest payment first, then older ones', () => {
    const { allocations, unallocated } = allocateRefund([payment('old', 600n), payment('new', 400n)], 700n);
    expect(allocations.map((a) => [a.payment.id, a.share])).toEqual([['new', 400n], ['old', 300n]]);
    expect(unallocated).toBe(0n);
  });

  it('skips payments that are not applied or have nothing left to refund', () => {
    const payments = [
      payment('applied', 500n),
      payment('flagged', 500n, { status: 'requires_refund' }),
      payment('reverted', 500n, { status: 'reverted' }),
      payment('held', 500n, { status: 'held' }),
      payment('refunded', 500n, { amountRefunded: 500n }),
    ];
    const { allocations, unallocated } = allocateRefund(payments, 200n);
    expect(allocations.map((a) => [a.payment.id, a.share])).toEqual([['applied', 200n]]);
    expect(unallocated).toBe(0n);
  });

  it('says what no payment could take', () => {
    expect(allocateRefund([payment('a', 100n, { amountRefunded: 40n })], 100n)).toMatchObject({ unallocated: 40n });
    expect(allocateRefund([], 1n)).toEqual({ allocations: [], unallocated: 1n });
  });

  it('never takes more from a payment than it has left, and shares exactly what the payments hold', () => {
    const arbitraryPayment = fc.record({ applied: fc.bigInt({ min: 0n, max: 10n ** 12n }), refundedPart: fc.bigInt({ min: 0n, max: 100n }) });
    fc.assert(
      fc.property(fc.array(arbitraryPayment, { maxLength: 6 }), fc.bigInt({ min: 1n, max: 10n ** 13n }), (specs, amount) => {
        const payments = specs.map((s, i) => payment(`p${i}`, s.applied, { amountRefunded: (s.applied * s.refundedPart) / 100n }));
        const { allocations, unallocated } = allocateRefund(payments, amount);
        const left = payments.reduce((a, p) => a + p.appliedAmount - p.amountRefunded, 0n);
        const shared = allocations.reduce((a, x) => a + x.share, 0n);
        return (
          shared + unallocated === amount &&
          shared === (amount < left ? amount : left) &&
          allocations.every((a) => a.share > 0n && a.share <= a.payment.appliedAmount - a.payment.amountRefunded)
        );
      }),
    );
  });
});

describe('shareInPaymentCurrency', () => {
  it('is the share itself for a payment in the request currency', () => {
    expect(shareInPaymentCurrency(payment('a', 1000n), 250n, 'USD')).toBe(250n);
  });

  it('is the part of what was paid at the original quote, rounded down, for a payment in another currency', () => {
    // 921 EUR cents counted for 1001 USD cents; 500 of them back is 460.04… EUR cents: 460.
    const eur = payment('a', 1001n, { currency: 'EUR', amount: 921n });
    expect(shareInPaymentCurrency(eur, 500n, 'USD')).toBe(460n);
    expect(shareInPaymentCurrency(eur, 1001n, 'USD')).toBe(921n);
  });
});
