/**
 * Phone numbers: a party's phone and a payer named by phone are matched in E.164
 * (docs/api.md, "Creating"), parsed by libphonenumber-js (https://gitlab.com/catamphetamine/libphonenumber-js).
 */
import { parsePhoneNumberWithError } from 'libphonenumber-js';
import { fieldError } from './errors.js';

/**
 * Normalizes a phone number to E.164 (`+6421555123`).
 * @param path - the JSON path reported in the error.
 * @throws DomainError `invalid_phone` when it is not a valid international number.
 */
export function normalizePhone(phone: string, path = 'phone'): string {
  try {
    const parsed = parsePhoneNumberWithError(phone);
    if (!parsed.isValid()) throw new Error('invalid');
    return parsed.number;
  } catch {
    throw fieldError(path, `${path} must be a valid international phone number such as +14155550100`, 'invalid_phone');
  }
}
