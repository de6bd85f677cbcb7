/**
 * Order lines of a payment request (Centrapay's line items): prices in minor units of the
 * request's currency, a negative price a discount, and the prices summing to the amount
 * (docs/api.md, "Creating").
 */
import { fieldError } from './errors.js';
import { parseAmount } from './money.js';
import type { LineItem } from './payment-request.js';

/** A line item as a create gives it: `qty` and `price` are decimal strings. */
export interface LineItemInput {
  name: string;
  sku: string;
  qty: string;
  price: string;
}

/**
 * Parses the line items of a create whose amount is `amount` minor units in a currency of
 * `exponent` decimals.
 * @returns the items with prices in minor units, or null when the create gives none.
 * @throws DomainError `validation_failed` (a `qty` that is not a positive decimal string, at
 *   `lineItems.<i>.qty`), `invalid_amount` (a malformed price), `line_items_mismatch` (the
 *   prices do not sum to `amount`).
 */
export function parseLineItems(input: readonly LineItemInput[] | undefined, exponent: number, amount: bigint): LineItem[] | null {
  if (input === undefined) return null;
  const items = input.map((li, i) => {
    if (!/^(0|[1-9][0-9]*)(\.[0-9]+)?$/.test(li.qty) || /^0(\.0+)?$/.test(li.qty)) {
      throw fieldError(`lineItems.${i}.qty`, 'qty must be a positive decimal string');
    }
    return { name: li.name, sku: li.sku, qty: li.qty, price: parseAmount(li.price, exponent, { allowNegative: true, allowZero: true, path: `lineItems.${i}.price` }) };
  });
  const sum = items.reduce((acc, li) => acc + li.price, 0n);
  if (sum !== amount) {
    throw fieldError('lineItems', `line item prices sum to ${sum} minor units, not the amount's ${amount}`, 'line_items_mismatch');
  }
  return items;
}
