/**
 * Amounts on the wire and for readers (docs/api.md, "Amounts"): fiat amounts carry exactly their
 * ISO 4217 minor-unit digits, tokens no trailing zeros; pages format with `Intl.NumberFormat` in
 * the reader's locale, exactly (no float), per currency exponent.
 */
import { describe, expect, it } from 'vitest';
import { CurrencyRegistry } from '../../src/domain/currency.js';
import { formatForReader, formatWireAmount, parseAmount, shortestDecimal } from '../../src/domain/money.js';
import { readerLocale } from '../../src/http/pay-page.js';

const registry = new CurrencyRegistry([
  { id: 'USDC-mainnet', symbol: 'USDC', decimals: 6, network: 'mainnet', chainId: 1, address: '0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48' },
  { id: 'ETH-mainnet', symbol: 'ETH', decimals: 18, network: 'mainnet', chainId: 1, address: '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE' },
]);
const wire = (text: string, code: string) => {
  const c = registry.get(code);
  return formatWireAmount(parseAmount(text, c.exponent, { allowZero: true }), c);
};
const read = (text: string, code: string, locale: string) => {
  const c = registry.get(code);
  return formatForReader(text, { ...c, symbol: c.token?.symbol }, locale);
};

describe('the wire', () => {
  it('gives a fiat amount exactly its minor-unit digits', () => {
    expect(wire('25.5', 'USD')).toBe('25.50');
    expect(wire('25', 'USD')).toBe('25.00');
    expect(wire('0.01', 'EUR')).toBe('0.01');
    expect(wire('0', 'USD')).toBe('0.00');
    expect(wire('100', 'JPY')).toBe('100');
    expect(wire('1.25', 'BHD')).toBe('1.250');
    expect(formatWireAmount(-1050n, registry.get('USD'))).toBe('-10.50');
  });

  it('gives a token amount no trailing zeros', () => {
    expect(wire('1.500000', 'USDC-mainnet')).toBe('1.5');
    expect(wire('2', 'USDC-mainnet')).toBe('2');
    expect(wire('0.000000000000000001', 'ETH-mainnet')).toBe('0.000000000000000001');
  });

  it('round-trips through parseAmount', () => {
    for (const [text, code] of [['25.50', 'USD'], ['100', 'JPY'], ['1.250', 'BHD'], ['1.5', 'USDC-mainnet']] as const) {
      const c = registry.get(code);
      expect(formatWireAmount(parseAmount(text, c.exponent), c)).toBe(wire(text, code));
      expect(parseAmount(wire(text, code), c.exponent)).toBe(parseAmount(text, c.exponent));
    }
  });

  it('shortens a decimal for the providers that want the shortest number', () => {
    expect([shortestDecimal('25.50'), shortestDecimal('100.00'), shortestDecimal('100'), shortestDecimal('0.10')]).toEqual(['25.5', '100', '100', '0.1']);
  });
});

describe('for readers', () => {
  it('formats fiat in the reader\'s locale', () => {
    expect(read('25.5', 'USD', 'en-US')).toBe('$25.50');
    expect(read('25.5', 'EUR', 'de-DE')).toBe('25,50\u00a0€');
    expect(read('1234567.5', 'EUR', 'fr-FR')).toBe('1\u202f234\u202f567,50\u00a0€');
    expect(read('100', 'JPY', 'ja-JP')).toBe('￥100');
    expect(read('1.25', 'BHD', 'en-US')).toBe('BHD\u00a01.250');
  });

  it('formats tokens exactly, grouped the locale\'s way, with their symbol', () => {
    expect(read('1234.5', 'USDC-mainnet', 'en-US')).toBe('1,234.5 USDC');
    expect(read('1234.5', 'USDC-mainnet', 'de-DE')).toBe('1.234,5 USDC');
    // 18 decimals and 27 significant digits: no float would keep them.
    expect(read('123456789.000000000000000001', 'ETH-mainnet', 'en-US')).toBe('123,456,789.000000000000000001 ETH');
  });

  it('falls back to English for a malformed locale, and reads Accept-Language', () => {
    expect(read('1', 'USD', 'not a locale!')).toBe('$1.00');
    expect(readerLocale('de-CH,de;q=0.9,en;q=0.8')).toBe('de-CH');
    expect(readerLocale(undefined)).toBe('en');
    expect(readerLocale('*')).toBe('en');
    expect(readerLocale('??')).toBe('en');
  });
});
