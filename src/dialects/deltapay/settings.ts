/** DeltaPay's own settings, read from its `PAYREQ_DELTAPAY_*` variables (docs/dialects/deltapay.md). */
import { z } from 'zod';
import type { Env } from '../../http/dialect.js';

/** What the DeltaPay dialect is configured with. */
export interface DeltaPaySettings {
  /**
   * The transaction types a payment request may have (`GET /compat/deltapay/transaction-types`;
   * `PAYREQ_DELTAPAY_TRANSACTION_TYPES`, comma-separated; seeded with the ones DeltaPay's docs show).
   */
  transactionTypes: string[];
}

const envSchema = z.object({
  PAYREQ_DELTAPAY_TRANSACTION_TYPES: z.string().default('rent,eating_out,education,entertainment,taxes,cash_withdrawal,eps_mint,eps_withdrawal'),
});

/**
 * Reads `PAYREQ_DELTAPAY_TRANSACTION_TYPES`.
 * @throws Error naming the variable when it is invalid.
 */
export function readDeltaPaySettings(env: Env): DeltaPaySettings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { transactionTypes: parsed.data.PAYREQ_DELTAPAY_TRANSACTION_TYPES.split(',').map((t) => t.trim()).filter((t) => t.length > 0) };
}
