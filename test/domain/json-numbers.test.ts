/** JSON-number amounts are converted exactly, never through a float. */
import type { LosslessNumber} from 'lossless-json';
import { parse, stringify } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../src/domain/errors.js';
import { amountFromJson, decimalText, jsonAmount } from '../../src/dialects/json-numbers.js';

describe('decimalText', () => {
  it('keeps a literal exact, drops insignificant zeros and expands exponents', () => {
    expect(decimalText('25.50')).toBe('25.5');
    expect(decimalText('22')).toBe('22');
    expect(decimalText('10.0')).toBe('10');
    expect(decimalText('2.5e1')).toBe('25');
    expect(decimalText('1E-2')).toBe('0.01');
    expect(decimalText('0.000')).toBe('0');
    expect(decimalText('-1.5')).toBe('-1.5');
    expect(decimalText('12345678901234567890.123456789')).toBe('12345678901234567890.123456789');
  });
});

describe('amountFromJson', () => {
  const amount = (text: string, exponent = 2) => amountFromJson((parse(`{"a":${text}}`) as { a: LosslessNumber }).a, exponent);

  it('converts without float error', () => {
    expect(amount('25.50')).toBe(2550n);
    expect(amount('0.29')).toBe(29n); // 0.29 * 100 is 28.999999999999996 in floats
    expect(amount('149.99')).toBe(14999n);
    expect(amount('9007199254740993.01')).toBe(900719925474099301n); // beyond 2^53
    expect(amount('1', 18)).toBe(10n ** 18n);
  });

  it('refuses too many decimals, negatives and zero', () => {
    for (const bad of ['25.555', '-1', '0', '0.00', '1e-3']) {
      let error: unknown;
      try {
        amount(bad);
      } catch (err) {
        error = err;
      }
      expect(isDomainError(error, 'invalid_amount'), bad).toBe(true);
    }
  });

  it('renders amounts as JSON numbers from exact text', () => {
    expect(stringify({ amount: jsonAmount('25.5'), big: jsonAmount('9007199254740993.01') })).toBe('{"amount":25.5,"big":9007199254740993.01}');
  });
});
