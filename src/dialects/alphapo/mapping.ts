/**
 * AlphaPo's words and shapes (docs/dialects/alphapo.md, https://docs.alphapo.net):
 * the status table, currencies as `{iso, network_name}`, the create response and the
 * payment-request callback body. Amounts are decimal strings without trailing zeros (`"100"`,
 * `"0.0015"`), as in AlphaPo's examples.
 */
import type { PaymentRequestJson } from '../../contract/v1/payment-requests.js';
import type { Currency, CurrencyRegistry } from '../../domain/currency.js';
import { formatAmount, parseAmount, prorate } from '../../domain/money.js';
import type { PaymentRequestStatus } from '../../domain/payment-request.js';

/**
 * Payreq status → AlphaPo's word, for a request with nothing paid yet and for one partly paid.
 * `created`, `processing` (partly paid, or a ledger settlement in flight), `paid`, `failed` and
 * `expired` are AlphaPo's. A refunded request stays `paid` (AlphaPo's refunds are separate). A
 * request cancelled or declined with nothing paid reads `expired` (it can no longer be paid and
 * nothing was received: AlphaPo's "no payment within the lifespan"); one that had received part
 * reads `failed` ("the confirmed total is below the amount"), as does an expired partly paid one.
 */
export const ALPHAPO_STATUS: Readonly<Record<PaymentRequestStatus, { unpaid: string; partlyPaid: string }>> = {
  pending: { unpaid: 'created', partlyPaid: 'processing' },
  processing: { unpaid: 'processing', partlyPaid: 'processing' },
  paid: { unpaid: 'paid', partlyPaid: 'paid' },
  refunded: { unpaid: 'paid', partlyPaid: 'paid' },
  failed: { unpaid: 'failed', partlyPaid: 'failed' },
  expired: { unpaid: 'expired', partlyPaid: 'failed' },
  cancelled: { unpaid: 'expired', partlyPaid: 'failed' },
  declined: { unpaid: 'expired', partlyPaid: 'failed' },
};

/** AlphaPo's status word of a request as shown. */
export function alphapoStatus(pr: Pick<PaymentRequestJson, 'status' | 'amountPaid'>): string {
  const words = ALPHAPO_STATUS[pr.status];
  return /^0(\.0*)?$/.test(pr.amountPaid) ? words.unpaid : words.partlyPaid;
}

/**
 * AlphaPo's network names → Request Network's (the token list's `network`). A name not listed
 * is the token list's own (so `sepolia` is `sepolia`, and a private chain's name passes as is).
 */
export const NETWORKS: Readonly<Record<string, string>> = {
  ethereum: 'mainnet',
  polygon: 'matic',
  bsc: 'bsc',
  arbitrum: 'arbitrum-one',
  optimism: 'optimism',
  base: 'base',
  avalanche: 'avalanche',
  gnosis: 'xdai',
  fantom: 'fantom',
};

/** The token list's network of an AlphaPo network name. */
export function networkOf(networkName: string): string {
  return NETWORKS[networkName] ?? networkName;
}

/** AlphaPo's network name of a token list network. */
export function networkNameOf(network: string): string {
  return Object.entries(NETWORKS).find(([, n]) => n === network)?.[0] ?? network;
}

/** AlphaPo's `{iso, network_name}` of a currency (no `network_name` for fiat). */
export function currencyObject(currency: Currency): { iso: string; network_name?: string } {
  return currency.token ? { iso: currency.token.symbol, network_name: networkNameOf(currency.token.network) } : { iso: currency.code };
}

/** The tokens with this symbol (AlphaPo's `iso` of a cryptocurrency). */
export function tokensOf(currencies: CurrencyRegistry, iso: string): Currency[] {
  return currencies.listTokens().filter((t) => t.symbol === iso).map((t) => currencies.get(t.id));
}

/** A decimal string without trailing zeros. */
function trimmed(currencies: CurrencyRegistry, code: string, decimal: string): string {
  const exponent = currencies.get(code).exponent;
  return formatAmount(parseAmount(decimal, exponent, { allowZero: true }), exponent);
}

function unixSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

/** The payment currency of a request: its first option other than the invoice currency, if any. */
function paymentOption(pr: PaymentRequestJson) {
  return pr.paymentOptions.find((o) => o.currency !== pr.currency);
}

function definedOnly<T extends Record<string, unknown>>(view: T): Partial<T> {
  return Object.fromEntries(Object.entries(view).filter(([, v]) => v !== undefined && v !== null)) as Partial<T>;
}

/** The create call's `data`: fields the caller did not send are left out, as in AlphaPo's examples. */
export function createdView(pr: PaymentRequestJson, currencies: CurrencyRegistry) {
  const option = paymentOption(pr);
  return definedOnly({
    id: pr.id,
    amount: trimmed(currencies, pr.currency, pr.amount),
    currency: currencyObject(currencies.get(pr.currency)),
    status: 'created',
    life_time: unixSeconds(pr.expiresAt),
    payment_currency: option === undefined ? undefined : currencyObject(currencies.get(option.currency)),
    end_user_email: pr.customer?.email,
    end_user_reference: pr.customer?.reference,
    description: pr.description,
    payment_link: pr.paymentLink,
    foreign_id: pr.externalId,
    url_store: pr.redirectUrls?.store,
    url_success: pr.redirectUrls?.success,
    url_failed: pr.redirectUrls?.failed,
  });
}

/**
 * The payment-request callback body (docs/dialects/alphapo.md). `currency_sent` is in what the
 * payer sends: the payment currency when there is one (its quoted amount), else the invoice
 * currency; `received_amount` is what has been paid of it and `remaining_amount` what is still
 * owed, rounded up. `payment_request_address` is present for an on-chain option (its receiving
 * address; Payreq's address `id` is the request id). `expires_at` and `valid_until` are unix
 * seconds; `fixed_at` is when the rate was fixed, at creation.
 */
export function callbackBody(pr: PaymentRequestJson, currencies: CurrencyRegistry) {
  const option = paymentOption(pr) ?? pr.paymentOptions[0];
  const invoice = currencies.get(pr.currency);
  const sent = currencies.get(option?.currency ?? pr.currency);
  const total = parseAmount(pr.amount, invoice.exponent);
  const paid = parseAmount(pr.amountPaid, invoice.exponent, { allowZero: true });
  const expected = option === undefined ? total : parseAmount(option.amount, sent.exponent);
  const unpaid = paid >= total ? 0n : total - paid;
  const remaining = option === undefined || option.currency === pr.currency ? unpaid : prorate(unpaid, total, expected, 'up');
  const received = expected - remaining < 0n ? 0n : expected - remaining;
  return definedOnly({
    payment_request_id: pr.id,
    foreign_id: pr.externalId,
    type: 'payment_request',
    status: alphapoStatus(pr),
    end_user_email: pr.customer?.email,
    payment_request_address:
      option?.address === null || option?.address === undefined ? undefined : { id: pr.id, currency: currencyObject(sent), convert_to: currencyObject(invoice), address: option.address },
    payment_request_amount: { currency: currencyObject(invoice), amount: formatAmount(total, invoice.exponent) },
    currency_sent: {
      currency: currencyObject(sent),
      expected_amount: formatAmount(expected, sent.exponent),
      received_amount: formatAmount(received, sent.exponent),
      remaining_amount: formatAmount(remaining, sent.exponent),
    },
    fixed_at: unixSeconds(pr.createdAt),
    expires_at: unixSeconds(pr.expiresAt),
    valid_until: unixSeconds(pr.expiresAt),
  });
}
