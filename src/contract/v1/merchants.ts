/**
 * `/v1/merchant-configs` and `/v1/parties/{id}/patron-codes` (Centrapay's merchant configurations
 * and patron codes in canonical form): the create request and both as returned. Times are RFC 3339
 * strings.
 */
import { z } from 'zod';
import { shortText, uuid } from './common.js';

/** `POST /v1/merchant-configs` body. */
export const createMerchantConfigBody = z.strictObject({
  name: shortText,
  payeeAccountId: uuid.describe('The account that receives'),
  assetTypes: z.array(z.string().min(1).max(64)).min(1).max(20).optional().describe('Centrapay asset types such as centrapay.nzd.test; default: the payee account\'s'),
});

/** A merchant configuration as returned. */
export const merchantConfigResponse = z.object({
  id: z.string(),
  object: z.literal('merchant_config'),
  mode: z.enum(['live', 'test']),
  name: z.string(),
  payeeAccountId: z.string(),
  assetTypes: z.array(z.string()),
  currencies: z.array(z.string()).describe('The currency of each asset type, in order'),
  createdAt: z.string(),
});

/** A patron code as returned. */
export const patronCodeResponse = z.object({
  id: z.string(),
  object: z.literal('patron_code'),
  mode: z.enum(['live', 'test']),
  partyId: z.string(),
  createdAt: z.string(),
});

/** The JSON of a merchant configuration. */
export type MerchantConfigJson = z.input<typeof merchantConfigResponse>;
/** The JSON of a patron code. */
export type PatronCodeJson = z.input<typeof patronCodeResponse>;
