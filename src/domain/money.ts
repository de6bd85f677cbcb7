/**
 * Exact money. In code an amount is a `bigint` count of minor units paired with a currency;
 * on the wire it is a decimal string such as `"100.50"`. Never a float anywhere.
 *
 * Rules (docs/design.md#money; AlphaPo's "cannot have more than N decimal places"):
 * - only plain decimal notation: digits, optionally one `.` followed by at least one digit;
 * - no exponent (`1e3`), no sign unless allowed (`-` only where negatives are allowed, never `+`),
 *   no leading zeros (`007`), no whitespace;
 * - no more fraction digits than the currency's exponent (a trailing `0` counts too);
 * - at most 2^256 − 1 minor units in magnitude (the EVM's uint256).
 */
import { DomainError } from './errors.js';

/** The largest amount in minor units: 2^256 − 1, the EVM's uint256 maximum. */
export const MAX_MINOR_UNITS = (1n << 256n) - 1n;

/**
 * The most a party's ledger account may hold, and the most one ledger transfer may move into or
 * out of any account: 10^38 − 1 minor units (10^20 units of an 18-decimal token). Amounts are
 * `NUMERIC(78,0)` on PostgreSQL (below 10^78); a system account holds the negated sum of many
 * party balances, so with every movement bounded by 10^38 it would take 10^39 transfers to reach
 * the column's limit, where {@link MAX_SYSTEM_BALANCE} stops it first (docs/api.md, "Ledger").
 */
export const MAX_LEDGER_AMOUNT = 10n ** 38n - 1n;

/**
 * The most a system account (funding, fx, external) may hold in magnitude: 10^77 minor units.
 * With movements bounded by {@link MAX_LEDGER_AMOUNT}, one more transfer onto an account within
 * it stays below `NUMERIC(78,0)`'s 10^78, so a balance write never overflows the column.
 */
export const MAX_SYSTEM_BALANCE = 10n ** 77n;

/** Options for {@link parseAmount}. */
export interface ParseAmountOptions {
  /** Accept `"0"` (default false: amounts are positive). */
  allowZero?: boolean;
  /** Accept a leading `-` (default false). Line-item prices use this for discounts. */
  allowNegative?: boolean;
  /** The JSON path reported in the error (default `amount`). */
  path?: string;
}

const DECIMAL = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?$/;

/**
 * Parses a decimal string into minor units of a currency with `exponent` fraction digits.
 *
 * @param value - the wire value; anything but a string (a JSON number, say) is rejected.
 * @param exponent - the currency's number of minor-unit digits (2 for USD, 0 for JPY, 18 for ETH).
 * @returns the amount in minor units, e.g. `parseAmount("100.5", 2) === 10050n`.
 * @throws DomainError `invalid_amount` (with `errors[0].path`) for every rule broken.
 */
export function parseAmount(value: unknown, exponent: number, options: ParseAmountOptions = {}): bigint {
  const path = options.path ?? 'amount';
  const fail = (message: string): never => {
    throw new DomainError('invalid_amount', message, { errors: [{ path, message }] });
  };
  if (typeof value !== 'string') {
    return fail(`${path} must be a decimal string such as "10.50", not a ${typeof value === 'number' ? 'JSON number' : typeof value}`);
  }
  if (value.length > 100) return fail(`${path} is too long`);
  const match = DECIMAL.exec(value);
  if (!match) {
    return fail(`${path} must be a plain decimal string such as "10.50" (no exponent, sign, spaces or leading zeros)`);
  }
  const [, sign = '', whole = '0', fraction = ''] = match;
  if (sign === '-' && !options.allowNegative) return fail(`${path} must not be negative`);
  if (fraction.length > exponent) {
    return fail(
      exponent === 0
        ? `${path} cannot have decimal places in this currency`
        : `${path} cannot have more than ${exponent} decimal places in this currency`,
    );
  }
  const magnitude = BigInt(whole + fraction.padEnd(exponent, '0'));
  if (magnitude > MAX_MINOR_UNITS) return fail(`${path} is larger than the largest amount Payreq holds (2^256 - 1 minor units)`);
  if (magnitude === 0n) {
    if (!options.allowZero) return fail(`${path} must be greater than zero`);
    return 0n;
  }
  return sign === '-' ? -magnitude : magnitude;
}

/**
 * Formats minor units as the shortest exact decimal string: `formatAmount(10050n, 2) === "100.5"`,
 * `formatAmount(100n, 2) === "1"`. The output always parses back to the same value with
 * {@link parseAmount} (a round trip).
 *
 * @param minor - the amount in minor units (may be negative, e.g. a ledger entry).
 * @param exponent - the currency's number of minor-unit digits.
 */
export function formatAmount(minor: bigint, exponent: number): string {
  const negative = minor < 0n;
  const digits = (negative ? -minor : minor).toString().padStart(exponent + 1, '0');
  const whole = digits.slice(0, digits.length - exponent);
  const fraction = digits.slice(digits.length - exponent).replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/**
 * Formats minor units as an amount on the wire (docs/api.md, "Amounts"): a fiat currency's
 * amount carries exactly its ISO 4217 minor-unit digits (`"25.50"`, JPY `"100"`, BHD
 * `"1.250"`); a token's carries no trailing zeros (`"1.5"` USDC, `"0.000000000000000001"` ETH),
 * its decimals being a contract's precision rather than a unit people count in.
 * @param minor - the amount in minor units (may be negative).
 * @param currency - its exponent and kind.
 */
export function formatWireAmount(minor: bigint, currency: { exponent: number; kind: 'fiat' | 'token' }): string {
  const shortest = formatAmount(minor, currency.exponent);
  if (currency.kind === 'token' || currency.exponent === 0) return shortest;
  const [whole, fraction = ''] = shortest.split('.');
  return `${whole ?? '0'}.${fraction.padEnd(currency.exponent, '0')}`;
}

/**
 * The shortest form of a decimal string (no trailing fraction zeros): `"25.50"` → `"25.5"`,
 * `"100.00"` → `"100"`. For providers whose amounts are the shortest numbers (DeltaPay's
 * `22`, signed through Python's `json.dumps`).
 */
export function shortestDecimal(decimal: string): string {
  return decimal.includes('.') ? decimal.replace(/0+$/, '').replace(/\.$/, '') : decimal;
}

/**
 * An amount for people to read, in `locale`'s conventions (`Intl.NumberFormat`): a fiat currency
 * with its symbol and minor-unit digits (`$25.50` in `en-US`, `25,50 €` in `de-DE`), a token as
 * the number grouped the locale's way and its symbol (`1,234.5 USDC`). The decimal string is
 * formatted exactly (never through a float).
 * @param decimal - a decimal string in the currency (`"25.5"`).
 * @param currency - the ISO 4217 code or token id, its exponent, kind and (for a token) symbol.
 * @param locale - a BCP 47 tag (`en-US`); an unknown or malformed one falls back to `en`.
 */
export function formatForReader(decimal: string, currency: { code: string; exponent: number; kind: 'fiat' | 'token'; symbol?: string | undefined }, locale: string): string {
  let tag: string;
  try {
    tag = Intl.getCanonicalLocales(locale)[0] ?? 'en';
  } catch {
    tag = 'en';
  }
  // Intl formats a string argument as an exact decimal (ECMA-402 NumberFormat v3).
  const exact = decimal as unknown as number;
  if (currency.kind === 'fiat') {
    return new Intl.NumberFormat(tag, { style: 'currency', currency: currency.code, minimumFractionDigits: currency.exponent, maximumFractionDigits: currency.exponent }).format(exact);
  }
  const number = new Intl.NumberFormat(tag, { maximumFractionDigits: Math.min(currency.exponent, 100) }).format(exact);
  return `${number} ${currency.symbol ?? currency.code}`;
}

/** Rounding modes for conversions; each conversion names the one it uses. */
export type RoundingMode = 'up' | 'down';

/**
 * Divides exactly, rounding as named: `up` rounds away from zero (toward +∞ for the positive
 * values used here), `down` truncates. Both operands must be positive except `numerator` may be 0.
 */
export function divideRounded(numerator: bigint, denominator: bigint, mode: RoundingMode): bigint {
  if (denominator <= 0n) throw new RangeError('denominator must be positive');
  const quotient = numerator / denominator;
  if (mode === 'up' && numerator % denominator !== 0n) return quotient + 1n;
  return quotient;
}

/** An exchange rate as an exact fraction: 1 unit of `from` buys `numerator/denominator` units of `to`. */
export interface Rate {
  numerator: bigint;
  denominator: bigint;
}

/**
 * Parses a positive decimal rate string (`"1.0825"`) into an exact fraction.
 * @throws DomainError `validation_failed` for anything but a positive plain decimal.
 */
export function parseRate(value: string): Rate {
  const match = /^(0|[1-9][0-9]*)(?:\.([0-9]{1,30}))?$/.exec(value);
  if (!match) throw new DomainError('validation_failed', `rate "${value}" must be a positive plain decimal`);
  const [, whole = '0', fraction = ''] = match;
  const numerator = BigInt(whole + fraction);
  if (numerator === 0n) throw new DomainError('validation_failed', `rate "${value}" must be greater than zero`);
  return { numerator, denominator: 10n ** BigInt(fraction.length) };
}

/**
 * Converts `amount` minor units of a currency with `fromExponent` into minor units of a
 * currency with `toExponent` at `rate` (1 major unit of from = rate major units of to),
 * rounding as `mode` names.
 *
 * Payreq quotes what a payer owes with `up` (the payee never receives less than asked) and
 * returns refunds with `down` (never more than was paid).
 */
export function convertAmount(amount: bigint, fromExponent: number, toExponent: number, rate: Rate, mode: RoundingMode): bigint {
  const numerator = amount * rate.numerator * 10n ** BigInt(toExponent);
  const denominator = rate.denominator * 10n ** BigInt(fromExponent);
  return divideRounded(numerator, denominator, mode);
}

/**
 * Scales `part` of `total` onto `target`: `target * part / total`, rounded as named. Used to
 * apply a partial payment in a payment option's currency to the invoice amount.
 */
export function prorate(part: bigint, total: bigint, target: bigint, mode: RoundingMode): bigint {
  return divideRounded(part * target, total, mode);
}
