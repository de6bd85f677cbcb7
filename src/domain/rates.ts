/**
 * The exchange-rate table a payment request's options are quoted from (docs/api.md, "Payment
 * options"). Rates are exact decimal fractions, configured one way per pair.
 */
import { DomainError } from './errors.js';
import { parseRate, type Rate } from './money.js';

/** Exchange rates: `get(from, to)` is how many units of `to` one unit of `from` buys, exactly. */
export class RateTable {
  private readonly rates = new Map<string, { text: string; rate: Rate }>();

  /**
   * @param rates - `{"USD/EUR": "0.92"}`: one USD buys 0.92 EUR. Pairs are one-way; the
   *   reverse must be configured on its own (no inexact inversion).
   * @throws DomainError `validation_failed` for a malformed pair or rate.
   */
  constructor(rates: Record<string, string>) {
    for (const [pair, text] of Object.entries(rates)) {
      const [from, to, extra] = pair.split('/');
      if (!from || !to || extra !== undefined) throw new DomainError('validation_failed', `rate pair "${pair}" must be FROM/TO`);
      this.rates.set(`${from}/${to}`, { text, rate: parseRate(text) });
    }
  }

  /** The rate from `from` to `to` with its decimal text, identity for the same currency, or undefined. */
  get(from: string, to: string): { text: string; rate: Rate } | undefined {
    if (from === to) return { text: '1', rate: { numerator: 1n, denominator: 1n } };
    return this.rates.get(`${from}/${to}`);
  }
}
