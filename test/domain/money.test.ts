import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../src/domain/errors.js';
import { convertAmount, divideRounded, formatAmount, MAX_MINOR_UNITS, parseAmount, parseRate, prorate } from '../../src/domain/money.js';

function rejection(value: unknown, exponent: number, options = {}): string {
  try {
    parseAmount(value, exponent, options);
  } catch (err) {
    if (isDomainError(err, 'invalid_amount')) return err.message;
    throw err;
  }
  throw new Error(`${String(value)} was accepted`);
}

describe('parseAmount', () => {
  it.each([
    ['100.50', 2, 10050n],
    ['100.5', 2, 10050n],
    ['100', 2, 10000n],
    ['0.01', 2, 1n],
    ['25', 0, 25n],
    ['0.000001', 6, 1n],
    ['1.000000000000000001', 18, 1000000000000000001n],
  ])('parses %s with exponent %i into %s minor units', (text, exponent, minor) => {
    expect(parseAmount(text, exponent)).toBe(minor);
  });

  it('parses the largest uint256 amount and no more', () => {
    expect(parseAmount(MAX_MINOR_UNITS.toString(), 0)).toBe(MAX_MINOR_UNITS);
    expect(rejection((MAX_MINOR_UNITS + 1n).toString(), 0)).toMatch(/larger than the largest/);
    expect(rejection('1' + '0'.repeat(78), 0)).toMatch(/larger than the largest/);
  });

  it('rejects JSON numbers (floats and integers alike)', () => {
    expect(rejection(25.5, 2)).toMatch(/decimal string.*JSON number/);
    expect(rejection(25, 2)).toMatch(/JSON number/);
  });

  it('rejects other types', () => {
    expect(rejection(null, 2)).toMatch(/decimal string/);
    expect(rejection({ value: '1' }, 2)).toMatch(/decimal string/);
  });

  it.each(['1e3', '1E3', '1.5e2', '+1', ' 1', '1 ', '1,00', '.5', '5.', '01', '00.5', '0x10', '', '-', 'NaN', 'Infinity', '١٢'])('rejects the malformed %j', (text) => {
    expect(rejection(text, 2)).toMatch(/plain decimal string/);
  });

  it('rejects too many decimals, trailing zeros included', () => {
    expect(rejection('1.001', 2)).toMatch(/more than 2 decimal places/);
    expect(rejection('1.000', 2)).toMatch(/more than 2 decimal places/);
    expect(rejection('1.5', 0)).toMatch(/cannot have decimal places/);
  });

  it('rejects zero unless allowed', () => {
    expect(rejection('0', 2)).toMatch(/greater than zero/);
    expect(rejection('0.00', 2)).toMatch(/greater than zero/);
    expect(parseAmount('0', 2, { allowZero: true })).toBe(0n);
  });

  it('rejects negatives unless allowed', () => {
    expect(rejection('-1.00', 2)).toMatch(/must not be negative/);
    expect(parseAmount('-1.5', 2, { allowNegative: true })).toBe(-150n);
  });

  it('reports the path it was given', () => {
    try {
      parseAmount('x', 2, { path: 'lineItems.0.price' });
    } catch (err) {
      expect(isDomainError(err) && err.errors?.[0]?.path).toBe('lineItems.0.price');
      return;
    }
    throw new Error('accepted');
  });
});

describe('formatAmount', () => {
  it.each([
    [10050n, 2, '100.5'],
    [10000n, 2, '100'],
    [1n, 2, '0.01'],
    [0n, 2, '0'],
    [-150n, 2, '-1.5'],
    [25n, 0, '25'],
    [1n, 18, '0.000000000000000001'],
  ])('formats %s minor units with exponent %i as %s', (minor, exponent, text) => {
    expect(formatAmount(minor, exponent)).toBe(text);
  });

  it('round-trips through parseAmount for many values and exponents', () => {
    let seed = 42n;
    for (let i = 0; i < 2000; i++) {
      seed = (seed * 6364136223846793005n + 1442695040888963407n) % (1n << 64n);
      const exponent = Number(seed % 19n);
      const minor = (seed % 10n ** BigInt(1 + (i % 30))) + 1n;
      expect(parseAmount(formatAmount(minor, exponent), exponent)).toBe(minor);
    }
    expect(parseAmount(formatAmount(MAX_MINOR_UNITS, 18), 18)).toBe(MAX_MINOR_UNITS);
  });
});

describe('conversions', () => {
  it('divides with the named rounding mode', () => {
    expect(divideRounded(10n, 3n, 'down')).toBe(3n);
    expect(divideRounded(10n, 3n, 'up')).toBe(4n);
    expect(divideRounded(9n, 3n, 'up')).toBe(3n);
    expect(() => divideRounded(1n, 0n, 'up')).toThrow(RangeError);
  });

  it('parses rates exactly and rejects bad ones', () => {
    expect(parseRate('1.0825')).toEqual({ numerator: 10825n, denominator: 10000n });
    expect(() => parseRate('0')).toThrow(/greater than zero/);
    expect(() => parseRate('-1')).toThrow(/positive plain decimal/);
    expect(() => parseRate('1e2')).toThrow(/positive plain decimal/);
  });

  it('converts across exponents, rounding up for quotes and down for refunds', () => {
    // 10.00 USD at 0.92 → 9.20 EUR exactly.
    expect(convertAmount(1000n, 2, 2, parseRate('0.92'), 'up')).toBe(920n);
    // 10.01 USD at 0.333 → 3.33333 EUR: up 3.34, down 3.33.
    expect(convertAmount(1001n, 2, 2, parseRate('0.333'), 'up')).toBe(334n);
    expect(convertAmount(1001n, 2, 2, parseRate('0.333'), 'down')).toBe(333n);
    // 1.00 USD → USDC (6 decimals) at 1.
    expect(convertAmount(100n, 2, 6, parseRate('1'), 'up')).toBe(1_000_000n);
    // 100 JPY (exponent 0) → USD at 0.0067.
    expect(convertAmount(100n, 0, 2, parseRate('0.0067'), 'up')).toBe(67n);
  });

  it('prorates a part onto a target', () => {
    expect(prorate(50n, 100n, 920n, 'down')).toBe(460n);
    expect(prorate(1n, 3n, 100n, 'up')).toBe(34n);
    expect(prorate(1n, 3n, 100n, 'down')).toBe(33n);
  });
});
