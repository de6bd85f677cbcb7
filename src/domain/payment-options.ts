/**
 * Payment options: the currencies a request may be paid in, each amount fixed at creation from
 * the rate table and rounded up so that the payee never receives less than the invoice
 * (docs/api.md, "Creating"); and what a payment in an option counts for in the invoice.
 */
import type { CurrencyRegistry } from './currency.js';
import { fieldError } from './errors.js';
import { convertAmount, MAX_MINOR_UNITS, prorate } from './money.js';
import type { PaymentOption, PaymentRequest } from './payment-request.js';
import type { RateTable } from './rates.js';

/**
 * Quotes the options of an invoice of `amount` minor units of `invoiceCurrency`: the invoice
 * currency first (rate `"1"`), then each of `requested` in order, then each of `extra` not
 * already requested (a wallet payee's token).
 * @param requested - the create's `paymentOptions` (errors point at `paymentOptions.<i>.currency`).
 * @param extra - currencies the payee adds (errors point at `payee.accountId`).
 * @throws DomainError `unknown_currency`, `validation_failed` (a currency listed twice),
 *   `rate_unavailable` (no rate from the invoice currency), `amount_too_large` (the quote would
 *   exceed 2^256 − 1 minor units).
 */
export function quotePaymentOptions(
  currencies: CurrencyRegistry,
  rates: RateTable,
  invoiceCurrency: string,
  amount: bigint,
  requested: readonly { currency: string }[] | undefined,
  extra: readonly string[] = [],
): PaymentOption[] {
  const invoice = currencies.get(invoiceCurrency);
  const options: PaymentOption[] = [{ currency: invoice.code, amount, rate: '1' }];
  const codes = [...(requested ?? []).map((o) => o.currency), ...extra.filter((c) => !requested?.some((o) => o.currency === c))];
  for (const [i, code] of codes.entries()) {
    const path = i < (requested?.length ?? 0) ? `paymentOptions.${i}.currency` : 'payee.accountId';
    const currency = currencies.get(code, path);
    if (options.some((o) => o.currency === currency.code)) {
      if (currency.code === invoice.code) continue;
      throw fieldError(path, `${currency.code} is listed twice`);
    }
    const quote = rates.get(invoice.code, currency.code);
    if (!quote) throw fieldError(path, `no exchange rate is available from ${invoice.code} to ${currency.code}`, 'rate_unavailable');
    // Rounded up: the payee never receives less than the invoice amount.
    const converted = convertAmount(amount, invoice.exponent, currency.exponent, quote.rate, 'up');
    if (converted > MAX_MINOR_UNITS) throw fieldError(path, `the amount in ${currency.code} would exceed 2^256 - 1 minor units`, 'amount_too_large');
    options.push({ currency: currency.code, amount: converted, rate: quote.text });
  }
  return options;
}

/**
 * What `amount` minor units of `option`'s currency count for in the request's currency: the
 * same amount in the request's own currency, else its share of the invoice at the option's
 * quote, rounded down (the payer is never credited more than it paid).
 */
export function appliedShare(request: Pick<PaymentRequest, 'currency' | 'amount'>, option: Pick<PaymentOption, 'currency' | 'amount'>, amount: bigint): bigint {
  return option.currency === request.currency ? amount : prorate(amount, option.amount, request.amount, 'down');
}
