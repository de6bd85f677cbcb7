/** AlphaPo's own settings, read from its `PAYREQ_ALPHAPO_*` variables (docs/dialects/alphapo.md). */
import { z } from 'zod';
import type { Env } from '../../http/dialect.js';

/** Per-currency amount limits: decimal strings in the currency (`{"EUR": {"min": "10", "max": "100000"}}`); either bound may be absent. */
export type AmountLimits = Record<string, { min?: string | undefined; max?: string | undefined }>;

/** What the AlphaPo dialect is configured with. */
export interface AlphaPoSettings {
  /** Per-currency amount limits, by Payreq currency code (`PAYREQ_ALPHAPO_AMOUNT_LIMITS`, default none: at least one minor unit). */
  amountLimits: AmountLimits;
}

const decimalText = z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a decimal string');
const amountLimitsSchema = z.record(z.string().min(1), z.strictObject({ min: decimalText.optional(), max: decimalText.optional() }));

/**
 * Reads `PAYREQ_ALPHAPO_AMOUNT_LIMITS` (JSON `{"EUR": {"min": "10", "max": "100000"}}`, default `{}`).
 * @throws Error naming the variable when it is not such JSON.
 */
export function readAlphaPoSettings(env: Env): AlphaPoSettings {
  const parsed = amountLimitsSchema.safeParse(safeJson(env['PAYREQ_ALPHAPO_AMOUNT_LIMITS'] ?? '{}'));
  if (!parsed.success) throw new Error(`PAYREQ_ALPHAPO_AMOUNT_LIMITS must be JSON {"EUR": {"min": "10", "max": "100000"}}: ${parsed.error.message}`);
  return { amountLimits: parsed.data };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
