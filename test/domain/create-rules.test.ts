import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CurrencyRegistry } from '../../src/domain/currency.js';
import { DomainError } from '../../src/domain/errors.js';
import { expiryOf } from '../../src/domain/lifetime.js';
import { parseLineItems } from '../../src/domain/line-items.js';
import { appliedShare, quotePaymentOptions } from '../../src/domain/payment-options.js';
import { normalizePhone } from '../../src/domain/phone.js';
import { RateTable } from '../../src/domain/rates.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const WINDOW = { minExpirySeconds: 60, maxExpirySeconds: 86_400 };

/** The code and first field path of the DomainError `fn` throws. */
function refusal(fn: () => unknown): { code: string; path: string | undefined } {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return { code: err.code, path: err.errors?.[0]?.path };
    throw err;
  }
  throw new Error('accepted');
}

describe('expiryOf (the lifetime window)', () => {
  it('takes expiresIn in seconds from now, and expiresAt as a date-time', () => {
    expect(expiryOf({ expiresIn: 3600 }, NOW, WINDOW)).toBe(NOW + 3_600_000);
    expect(expiryOf({ expiresAt: '2026-01-01T01:00:00Z' }, NOW, WINDOW)).toBe(NOW + 3_600_000);
  });

  it('accepts the bounds of the window and refuses one second outside, naming the field given', () => {
    expect(expiryOf({ expiresIn: 60 }, NOW, WINDOW)).toBe(NOW + 60_000);
    expect(expiryOf({ expiresIn: 86_400 }, NOW, WINDOW)).toBe(NOW + 86_400_000);
    expect(refusal(() => expiryOf({ expiresIn: 59 }, NOW, WINDOW))).toEqual({ code: 'invalid_expiry', path: 'expiresIn' });
    expect(refusal(() => expiryOf({ expiresAt: '2026-01-02T00:00:01Z' }, NOW, WINDOW))).toEqual({ code: 'invalid_expiry', path: 'expiresAt' });
  });

  it('wants exactly one of expiresIn and expiresAt, and a parsable date', () => {
    expect(refusal(() => expiryOf({}, NOW, WINDOW))).toEqual({ code: 'invalid_expiry', path: 'expiresIn' });
    expect(refusal(() => expiryOf({ expiresIn: 600, expiresAt: '2026-01-01T01:00:00Z' }, NOW, WINDOW))).toEqual({ code: 'invalid_expiry', path: 'expiresIn' });
    expect(refusal(() => expiryOf({ expiresAt: 'tomorrow' }, NOW, WINDOW))).toEqual({ code: 'invalid_expiry', path: 'expiresAt' });
  });

  it('answers a time inside the window for every lifetime inside it', () => {
    fc.assert(
      fc.property(fc.integer({ min: WINDOW.minExpirySeconds, max: WINDOW.maxExpirySeconds }), (seconds) => {
        const at = expiryOf({ expiresIn: seconds }, NOW, WINDOW);
        return at - NOW === seconds * 1000;
      }),
    );
  });
});

describe('parseLineItems (the line-item sum)', () => {
  it('is null without line items', () => {
    expect(parseLineItems(undefined, 2, 1000n)).toBeNull();
  });

  it('parses prices into minor units, a negative price being a discount', () => {
    const items = parseLineItems(
      [
        { name: 'Coffee', sku: 'c1', qty: '2', price: '12.00' },
        { name: 'Discount', sku: 'd1', qty: '1', price: '-2.00' },
      ],
      2,
      1000n,
    );
    expect(items).toEqual([
      { name: 'Coffee', sku: 'c1', qty: '2', price: 1200n },
      { name: 'Discount', sku: 'd1', qty: '1', price: -200n },
    ]);
  });

  it('refuses prices that do not sum to the amount', () => {
    expect(refusal(() => parseLineItems([{ name: 'a', sku: 'a', qty: '1', price: '9.99' }], 2, 1000n))).toEqual({ code: 'line_items_mismatch', path: 'lineItems' });
  });

  it.each(['0', '0.0', '-1', '1e2', '01', ''])('refuses the qty %j', (qty) => {
    expect(refusal(() => parseLineItems([{ name: 'a', sku: 'a', qty, price: '10.00' }], 2, 1000n))).toEqual({ code: 'validation_failed', path: 'lineItems.0.qty' });
  });

  it('accepts any split of the amount into prices', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -100_000, max: 100_000 }), { minLength: 1, maxLength: 8 }), (cents) => {
        const amount = cents.reduce((a, c) => a + BigInt(c), 0n);
        const format = (c: number) => `${c < 0 ? '-' : ''}${Math.floor(Math.abs(c) / 100)}.${String(Math.abs(c) % 100).padStart(2, '0')}`;
        const items = parseLineItems(cents.map((c, i) => ({ name: `i${i}`, sku: `s${i}`, qty: '1', price: format(c) })), 2, amount);
        return items !== null && items.every((item, i) => item.price === BigInt(cents[i] ?? 0));
      }),
    );
  });
});

describe('quotePaymentOptions (option quotes)', () => {
  const currencies = new CurrencyRegistry([]);
  const rates = new RateTable({ 'USD/EUR': '0.92', 'USD/JPY': '151.237' });

  it('lists the invoice currency first at rate 1, then each option rounded up', () => {
    expect(quotePaymentOptions(currencies, rates, 'USD', 1001n, [{ currency: 'EUR' }, { currency: 'JPY' }])).toEqual([
      { currency: 'USD', amount: 1001n, rate: '1' },
      // 10.01 × 0.92 = 9.2092 EUR, rounded up to 9.21.
      { currency: 'EUR', amount: 921n, rate: '0.92' },
      // 10.01 × 151.237 = 1513.88… JPY, rounded up to 1514.
      { currency: 'JPY', amount: 1514n, rate: '151.237' },
    ]);
  });

  it('skips the invoice currency listed again, adds an extra currency once, and refuses a repeat', () => {
    expect(quotePaymentOptions(currencies, rates, 'USD', 100n, [{ currency: 'USD' }], ['EUR']).map((o) => o.currency)).toEqual(['USD', 'EUR']);
    expect(quotePaymentOptions(currencies, rates, 'USD', 100n, [{ currency: 'EUR' }], ['EUR']).map((o) => o.currency)).toEqual(['USD', 'EUR']);
    expect(refusal(() => quotePaymentOptions(currencies, rates, 'USD', 100n, [{ currency: 'EUR' }, { currency: 'EUR' }]))).toEqual({ code: 'validation_failed', path: 'paymentOptions.1.currency' });
  });

  it('refuses a pair without a rate (rates are one-way) and an unknown currency, at the right path', () => {
    expect(refusal(() => quotePaymentOptions(currencies, rates, 'EUR', 100n, [{ currency: 'USD' }]))).toEqual({ code: 'rate_unavailable', path: 'paymentOptions.0.currency' });
    expect(refusal(() => quotePaymentOptions(currencies, rates, 'USD', 100n, [], ['GBP']))).toEqual({ code: 'rate_unavailable', path: 'payee.accountId' });
    expect(refusal(() => quotePaymentOptions(currencies, rates, 'USD', 100n, [{ currency: 'XXQ' }]))).toEqual({ code: 'unknown_currency', path: 'paymentOptions.0.currency' });
  });

  it('never quotes less than the invoice is worth, and a payment of the whole quote counts for at least the invoice', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 15n }), (amount) => {
        const [, eur] = quotePaymentOptions(currencies, rates, 'USD', amount, [{ currency: 'EUR' }]);
        if (!eur) return false;
        const request = { currency: 'USD', amount };
        // Rounded up when quoted, rounded down when applied: the payee gets the invoice, not less.
        return eur.amount * 100n >= amount * 92n && appliedShare(request, eur, eur.amount) >= amount;
      }),
    );
  });

  it('counts a payment in the invoice currency as itself', () => {
    expect(appliedShare({ currency: 'USD', amount: 1000n }, { currency: 'USD', amount: 1000n }, 250n)).toBe(250n);
    expect(appliedShare({ currency: 'USD', amount: 1000n }, { currency: 'EUR', amount: 920n }, 460n)).toBe(500n);
    expect(appliedShare({ currency: 'USD', amount: 1000n }, { currency: 'EUR', amount: 920n }, 1n)).toBe(1n);
  });
});

describe('RateTable', () => {
  it('answers identity for the same currency and only the configured direction otherwise', () => {
    const rates = new RateTable({ 'USD/EUR': '0.92' });
    expect(rates.get('EUR', 'EUR')).toEqual({ text: '1', rate: { numerator: 1n, denominator: 1n } });
    expect(rates.get('USD', 'EUR')).toEqual({ text: '0.92', rate: { numerator: 92n, denominator: 100n } });
    expect(rates.get('EUR', 'USD')).toBeUndefined();
  });

  it.each<Record<string, string>>([{ USD: '1' }, { 'USD/EUR/GBP': '1' }, { '/EUR': '1' }, { 'USD/EUR': '0' }, { 'USD/EUR': '1e2' }])('refuses %j', (config) => {
    expect(refusal(() => new RateTable(config)).code).toBe('validation_failed');
  });
});

describe('normalizePhone', () => {
  it('answers E.164 for any international form', () => {
    expect(normalizePhone('+1 415 555 0100')).toBe('+14155550100');
    expect(normalizePhone('+64 21 555 1234')).toBe('+64215551234');
  });

  it('refuses a number without a country code or not valid, at the path given', () => {
    expect(refusal(() => normalizePhone('415 555 0100'))).toEqual({ code: 'invalid_phone', path: 'phone' });
    expect(refusal(() => normalizePhone('+1 555', 'payer.phone'))).toEqual({ code: 'invalid_phone', path: 'payer.phone' });
  });
});
