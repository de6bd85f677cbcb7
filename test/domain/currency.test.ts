import { describe, expect, it } from 'vitest';
import { CurrencyRegistry } from '../../src/domain/currency.js';
import { isDomainError } from '../../src/domain/errors.js';
import tokens from '../../src/data/tokens.json' with { type: 'json' };

const registry = new CurrencyRegistry(tokens);

describe('CurrencyRegistry', () => {
  it('takes ISO 4217 exponents from ICU', () => {
    expect(registry.get('USD').exponent).toBe(2);
    expect(registry.get('EUR').exponent).toBe(2);
    expect(registry.get('NZD').exponent).toBe(2);
    expect(registry.get('JPY').exponent).toBe(0);
    expect(registry.get('KWD').exponent).toBe(3);
    expect(registry.get('USD').kind).toBe('fiat');
  });

  it('takes token decimals from the token list', () => {
    expect(registry.get('USDC-mainnet')).toMatchObject({ exponent: 6, kind: 'token' });
    expect(registry.get('DAI-mainnet').exponent).toBe(18);
    expect(registry.get('ETH-sepolia').token?.chainId).toBe(11155111);
  });

  it('rejects unknown codes, lower-case codes and unknown networks', () => {
    for (const code of ['XYZ', 'usd', 'USDC-moon', 'US', '']) {
      let error: unknown;
      try {
        registry.get(code);
      } catch (err) {
        error = err;
      }
      expect(isDomainError(error, 'unknown_currency'), code).toBe(true);
    }
  });

  it('rejects a token list entry whose id is not SYMBOL-network', () => {
    expect(() => new CurrencyRegistry([{ id: 'USDC', symbol: 'USDC', decimals: 6, network: 'mainnet', chainId: 1, address: '0x0' }])).toThrow(/SYMBOL-network/);
  });

  it('rejects a repeated token id', () => {
    const t = { id: 'ABC-mainnet', symbol: 'ABC', decimals: 6, network: 'mainnet', chainId: 1, address: '0x0' };
    expect(() => new CurrencyRegistry([t, t])).toThrow(/repeats/);
  });
});
