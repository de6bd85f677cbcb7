/**
 * AlphaPo's create validation, with its texts exactly (https://docs.alphapo.net,
 * responses 404 and 422): each rule answers the documented body for the input that breaks it.
 * Where AlphaPo documents no text, Payreq's own is marked in `docs/dialects/alphapo.md`.
 * `null` counts as absent (AlphaPo's schema marks the optional fields nullable).
 */
import { isLosslessNumber } from 'lossless-json';
import { partyAccountsIn, partyWalletAccounts } from '../../app/accounts.js';
import type { Deps, Principal } from '../../app/deps.js';
import type { CreatePaymentRequestInput } from '../../app/payment-requests/create.js';
import type { Currency } from '../../domain/currency.js';
import { formatAmount, parseAmount } from '../../domain/money.js';
import { AlphaPoError, invalid } from './errors.js';
import { networkOf, tokensOf } from './mapping.js';
import type { AlphaPoSettings, AmountLimits } from './settings.js';

/** The longest text field AlphaPo accepts. */
const MAX_TEXT = 255;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

type Body = Record<string, unknown>;

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isObject(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}

/** A JSON number's exact text, or the string itself; undefined for anything else. */
function numberText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (isLosslessNumber(value)) return value.toString();
  return undefined;
}

/** A lifespan in AlphaPo's words: whole days when it is some, else minutes (rounded up). */
export function spanText(seconds: number): string {
  if (seconds >= 86_400 && seconds % 86_400 === 0) {
    const days = seconds / 86_400;
    return `${days} ${days === 1 ? 'day' : 'days'}`;
  }
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} ${minutes === 1 ? 'minute' : 'minutes'}`;
}

function checkText(body: Body, field: string, emptyText: string, longText: string): string | undefined {
  const value = body[field];
  if (!present(value)) return undefined;
  if (typeof value !== 'string' || value.length === 0) throw invalid(emptyText);
  if (value.length > MAX_TEXT) throw invalid(longText);
  return value;
}

function checkUrl(body: Body, field: string): string | undefined {
  const value = body[field];
  if (!present(value)) return undefined;
  if (typeof value === 'string' && value.length > MAX_TEXT) throw invalid(`The ${field} must be 255 characters or less.`);
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  // AlphaPo: "uses the secure HTTPS protocol, uses domain names (not IP addresses)".
  if (!url || url.protocol !== 'https:' || /^[0-9.]+$|^\[/.test(url.hostname) || !url.hostname.includes('.')) throw invalid(`The ${field} is invalid.`);
  return value as string;
}

/** Resolves `currency` (`{iso, network_name}`) to a Payreq currency. */
function invoiceCurrency(deps: Deps, body: Body): Currency {
  const currency = body['currency'];
  const iso = isObject(currency) ? currency['iso'] : undefined;
  if (typeof iso !== 'string' || iso === '') throw invalid('The iso is a mandatory field.');
  const networkName = isObject(currency) ? currency['network_name'] : undefined;
  const fiat = deps.currencies.find(iso);
  const tokens = tokensOf(deps.currencies, iso);
  if (fiat?.kind !== 'fiat' && tokens.length === 0) throw new AlphaPoError(404, 'The currency.iso is incorrect.');
  if (tokens.length === 0) {
    if (present(networkName)) throw invalid('The combination of currency and network is not supported.');
    return fiat as Currency;
  }
  if (typeof networkName !== 'string' || networkName === '') throw invalid('The currency.network_name field is mandatory for crypto currencies.');
  const token = tokens.find((t) => t.token?.network === networkOf(networkName));
  if (!token) throw invalid('The combination of currency and network is not supported.');
  return token;
}

/** Checks `amount` in `currency` against its format, decimals and the configured limits; returns the decimal string. */
function checkAmount(limitsByCode: AmountLimits, text: string, currency: Currency, iso: string): string {
  const match = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(text);
  if (!match) throw invalid('The amount must be a number.');
  if ((match[3]?.length ?? 0) > currency.exponent) throw invalid(`The amount for ${iso} cannot have more than ${currency.exponent} decimal places.`);
  const minor = (match[1] === '-' ? -1n : 1n) * parseAmount(`${match[2] ?? '0'}${match[3] ? `.${match[3]}` : ''}`, currency.exponent, { allowZero: true });
  const limits = limitsByCode[currency.code] ?? {};
  const min = limits.min === undefined ? 1n : parseAmount(limits.min, currency.exponent, { allowZero: true });
  if (minor < min) throw invalid(`The minimum amount is ${formatAmount(min, currency.exponent)} ${iso}.`);
  if (limits.max !== undefined) {
    const max = parseAmount(limits.max, currency.exponent, { allowZero: true });
    if (minor > max) throw invalid(`The maximum amount is ${formatAmount(max, currency.exponent)} ${iso}.`);
  }
  return formatAmount(minor, currency.exponent);
}

/** Checks the lifetime: exactly one of `life_time_duration` (seconds) and `life_time_datetime` (unix seconds), within the bounds. */
function checkLifetime(deps: Deps, body: Body, now: number): { expiresIn: number } | { expiresAt: string } {
  const duration = body['life_time_duration'];
  const datetime = body['life_time_datetime'];
  if (!present(duration) && !present(datetime)) throw invalid('It is obligatory - to fill in life_time_date_time or life_time_duration.');
  if (present(duration) && present(datetime)) throw invalid('Only one of fields life_time_date_time and life_time_duration should be field.');
  const text = numberText(present(duration) ? duration : datetime);
  if (text === undefined || !/^-?(0|[1-9][0-9]*)$/.test(text)) throw invalid('It is obligatory - to fill in life_time_date_time or life_time_duration.');
  const value = Number(text);
  const span = present(duration) ? value : value - now / 1000;
  const { minExpirySeconds: min, maxExpirySeconds: max } = deps.settings;
  if (span < min) throw invalid(`The lifespan must be longer than or equal to ${spanText(min)}.`);
  if (span > max) throw invalid(`The lifespan must be shorter than or equal ${spanText(max)}.`);
  return present(duration) ? { expiresIn: value } : { expiresAt: new Date(value * 1000).toISOString() };
}

/** Checks `payment_currency`: a cryptocurrency payable on a configured chain, at an address of the merchant's. */
async function checkPaymentCurrency(deps: Deps, principal: Principal, merchantId: string, body: Body): Promise<Currency | undefined> {
  if (!('payment_currency' in body) || body['payment_currency'] === undefined) return undefined;
  const pc = body['payment_currency'];
  if (!isObject(pc) || Object.keys(pc).length === 0) throw invalid('payment_currency must not be empty if provided.');
  const iso = pc['iso'];
  const networkName = pc['network_name'];
  if (iso === '') throw invalid('payment_currency.iso must not be empty if provided.');
  if (networkName === '') throw invalid('payment_currency.network_name must not be empty if provided.');
  if (!present(iso) && present(networkName)) throw invalid('payment_currency.network_name cannot be specified without payment_currency.iso.');
  if (typeof iso !== 'string') throw invalid('payment_currency.iso must not be empty if provided.');
  const tokens = tokensOf(deps.currencies, iso);
  if (deps.currencies.find(iso)?.kind !== 'fiat' && tokens.length === 0) throw new AlphaPoError(404, 'payment_currency.iso is incorrect.');
  if (tokens.length === 0) throw invalid('payment_currency.iso must be a cryptocurrency.');
  const candidates = typeof networkName === 'string' ? tokens.filter((t) => t.token?.network === networkOf(networkName)) : tokens;
  if (candidates.length === 0) throw invalid('The combination of currency and network is not supported.');
  const wallets = await partyWalletAccounts(deps, principal, merchantId);
  const networkOfCode = (code: string) => deps.currencies.find(code)?.token?.network;
  const payable = candidates.find((t) => deps.chains.onChain(t.code) !== undefined && wallets.some((w) => networkOfCode(w.currency) === t.token?.network));
  if (!payable) throw invalid('payment_currency.iso is disabled.');
  return payable;
}

/**
 * Validates AlphaPo's create body for the merchant party `merchantId` and maps it to the
 * canonical create input, within the dialect's configured `settings.amountLimits`.
 * @throws AlphaPoError with the documented status and text for the first rule broken.
 */
export async function validateCreate(deps: Deps, settings: AlphaPoSettings, principal: Principal, merchantId: string, body: Body, now: number): Promise<CreatePaymentRequestInput> {
  const amountValue = body['amount'];
  if (!present(amountValue) || amountValue === '') throw invalid('The amount field is mandatory.');
  const currency = invoiceCurrency(deps, body);
  const iso = currency.token?.symbol ?? currency.code;
  const accounts = await partyAccountsIn(deps, principal, merchantId, currency.code);
  const account = accounts.find((a) => (a.address !== null) === (currency.kind === 'token')) ?? accounts[0];
  if (!account) throw invalid('The currency.iso is disabled.');
  const amountText = numberText(amountValue);
  if (amountText === undefined) throw invalid('The amount must be a number.');
  const amount = checkAmount(settings.amountLimits, amountText, currency, iso);
  const lifetime = checkLifetime(deps, body, now);
  const email = body['end_user_email'];
  if (present(email) && (typeof email !== 'string' || email.length > MAX_TEXT || !EMAIL.test(email))) throw invalid('The email address is incorrect.');
  const paymentCurrency = await checkPaymentCurrency(deps, principal, merchantId, body);
  const description = checkText(body, 'description', 'The description must not be empty if provided.', 'The description must be 255 characters or less.');
  const foreignId = checkText(body, 'foreign_id', 'The foreign_id must not be empty if provided.', 'Foreign ID must be 255 characters or less.');
  const urls = { store: checkUrl(body, 'url_store'), success: checkUrl(body, 'url_success'), failed: checkUrl(body, 'url_failed') };
  const reference = checkText(body, 'end_user_reference', 'The end_user_reference must not be empty if provided.', 'The end_user_reference must be 255 characters or less.');
  return {
    amount,
    currency: currency.code,
    payee: { accountId: account.id },
    ...lifetime,
    description,
    externalId: foreignId,
    customer: present(email) || reference !== undefined ? { email: typeof email === 'string' ? email : undefined, reference } : undefined,
    redirectUrls: Object.values(urls).some((u) => u !== undefined) ? urls : undefined,
    paymentOptions: paymentCurrency === undefined || paymentCurrency.code === currency.code ? undefined : [{ currency: paymentCurrency.code }],
  };
}
