/**
 * Amounts as JSON numbers (Pismo's `25.50`, DeltaPay's `22`), converted exactly: the body is
 * parsed with `lossless-json`, which keeps every number's literal text, so no amount ever
 * passes through a float. Responses render amounts back as JSON numbers from exact decimal
 * text.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { isLosslessNumber, LosslessNumber, parse, stringify } from 'lossless-json';
import { z } from 'zod';
import { DomainError } from '../domain/errors.js';
import { parseAmount } from '../domain/money.js';

/**
 * Replaces the JSON body parser of a dialect's scope: numbers arrive as `LosslessNumber`
 * (`.value` is the literal text). Invalid JSON is Fastify's usual 400 error.
 */
export function useLosslessJson(scope: FastifyInstance): void {
  scope.removeContentTypeParser('application/json');
  scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, (body as string).length === 0 ? undefined : parse(body as string));
    } catch (err) {
      const error = new SyntaxError(err instanceof Error ? err.message : 'invalid JSON') as SyntaxError & { statusCode: number };
      error.statusCode = 400;
      done(error, undefined);
    }
  });
}

/** A JSON number as the lossless parser hands it over (its literal text kept). */
export const jsonNumber = z.custom<LosslessNumber>((v) => isLosslessNumber(v), { message: 'must be a JSON number' });

/** A positive JSON integer below 2^53 (an id such as Pismo's account id), as a `number`. */
export const jsonId = jsonNumber
  .refine((n) => /^[1-9][0-9]{0,15}$/.test(n.value) && Number(n.value) <= Number.MAX_SAFE_INTEGER, { message: 'must be a positive integer id' })
  .transform((n) => Number(n.value));

/**
 * The exact decimal text of a JSON number literal: exponents are expanded digit by digit and
 * insignificant fraction zeros dropped (`25.50` → `25.5`, `2.5e1` → `25`, `1E-2` → `0.01`).
 * @throws DomainError `invalid_amount` for a literal that is not a JSON number.
 */
export function decimalText(literal: string, path = 'amount'): string {
  const match = /^(-?)(0|[1-9][0-9]*)(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?$/.exec(literal);
  if (!match) throw new DomainError('invalid_amount', `${path} must be a number`, { errors: [{ path, message: 'must be a number' }] });
  const [, sign = '', whole = '0', fraction = '', exp = '0'] = match;
  const shift = Number(exp);
  if (!Number.isSafeInteger(shift) || Math.abs(shift) > 100) throw new DomainError('invalid_amount', `${path} is out of range`, { errors: [{ path, message: 'out of range' }] });
  let digits = whole + fraction;
  let point = whole.length + shift;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  } else if (point > digits.length) {
    digits = digits + '0'.repeat(point - digits.length);
  }
  const intPart = digits.slice(0, point).replace(/^0+(?=.)/, '') || '0';
  const fracPart = digits.slice(point).replace(/0+$/, '');
  return `${sign}${intPart}${fracPart ? `.${fracPart}` : ''}`;
}

/**
 * A JSON-number amount in minor units of a currency with `exponent` decimals, exactly. Too many
 * significant decimals, a negative or zero amount, and anything beyond 2^256 − 1 minor units
 * are refused (`domain/money.ts`'s rules).
 * @throws DomainError `invalid_amount` (with `errors[0].path`).
 */
export function amountFromJson(value: LosslessNumber, exponent: number, path = 'amount'): bigint {
  return parseAmount(decimalText(value.value, path), exponent, { path });
}

/** A decimal string (`"25.5"`) as a JSON number in the output (rendered from its exact text). */
export function jsonAmount(decimal: string): LosslessNumber {
  return new LosslessNumber(decimal);
}

/** Sends `body` as JSON whose `LosslessNumber`s are written from their exact text. */
export function sendLossless(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(stringify(body));
}

/**
 * Free-form JSON (metadata, a location) with its `LosslessNumber`s turned into plain numbers,
 * for storage: these are not amounts, so a float is what the caller meant.
 */
export function plainJson(value: unknown): unknown {
  if (isLosslessNumber(value)) return Number(value.value);
  if (Array.isArray(value)) return value.map(plainJson);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainJson(v)]));
  return value;
}
