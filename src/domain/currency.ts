/**
 * Currencies: ISO 4217 fiat codes, with their exponent from the runtime's ICU data (`Intl`),
 * and tokens from a token list in the Request Network format
 * `{id, symbol, decimals, network, address, chainId}` whose `id` is `SYMBOL-network`
 * (the token list of Request Network's API, docs/evm.md#configuration).
 */
import { DomainError } from './errors.js';

/** One token-list entry, Request Network format. `decimals` is the token's exponent. */
export interface Token {
  id: string;
  name?: string;
  symbol: string;
  decimals: number;
  network: string;
  chainId: number;
  address: string;
}

/** A currency Payreq can hold: `code` is an ISO 4217 code (`USD`) or a token id (`USDC-mainnet`). */
export interface Currency {
  code: string;
  /** Number of minor-unit digits: 2 for USD, 0 for JPY, 6 for USDC. */
  exponent: number;
  kind: 'fiat' | 'token';
  token?: Token;
}

const TOKEN_ID = /^[A-Za-z0-9.]{1,20}-[a-z0-9-]{1,40}$/;

/**
 * Looks currencies up by code. Fiat codes are the ones ICU knows (`Intl.supportedValuesOf`),
 * in upper case exactly; tokens are the entries of the token list given at construction.
 */
export class CurrencyRegistry {
  private readonly fiat = new Map<string, Currency>();
  private readonly tokens = new Map<string, Currency>();

  /**
   * @param tokenList - entries in the Request Network token-list format.
   * @throws DomainError `validation_failed` when an entry is malformed or an id repeats.
   */
  constructor(tokenList: readonly Token[]) {
    for (const code of Intl.supportedValuesOf('currency')) {
      const exponent = new Intl.NumberFormat('en', { style: 'currency', currency: code }).resolvedOptions().maximumFractionDigits ?? 2;
      this.fiat.set(code, { code, exponent, kind: 'fiat' });
    }
    for (const token of tokenList) {
      if (!TOKEN_ID.test(token.id) || token.id !== `${token.symbol}-${token.network}`) {
        throw new DomainError('validation_failed', `token list entry "${token.id}" must have id SYMBOL-network`);
      }
      if (!Number.isInteger(token.decimals) || token.decimals < 0 || token.decimals > 36) {
        throw new DomainError('validation_failed', `token list entry "${token.id}" has invalid decimals`);
      }
      if (this.tokens.has(token.id)) throw new DomainError('validation_failed', `token list repeats "${token.id}"`);
      this.tokens.set(token.id, { code: token.id, exponent: token.decimals, kind: 'token', token });
    }
  }

  /** The currency with this code, or undefined. */
  find(code: string): Currency | undefined {
    return this.fiat.get(code) ?? this.tokens.get(code);
  }

  /**
   * The currency with this code.
   * @param path - the JSON path reported in the error (default `currency`).
   * @throws DomainError `unknown_currency` when neither ICU nor the token list knows it.
   */
  get(code: string, path = 'currency'): Currency {
    const currency = this.find(code);
    if (!currency) {
      const message = `${path} "${code}" is not an ISO 4217 code nor a token id in the token list`;
      throw new DomainError('unknown_currency', message, { errors: [{ path, message }] });
    }
    return currency;
  }

  /** Every token in the list. */
  listTokens(): Token[] {
    return [...this.tokens.values()].map((c) => c.token as Token);
  }
}
