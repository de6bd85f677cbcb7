/**
 * `/v1/accounts`: an account's create and close requests, the test helper that funds one, and the
 * account as returned. Amounts (the balance) are decimal strings; times are RFC 3339 strings.
 */
import { z } from 'zod';
import { amountString, nullableString, uuid } from './common.js';

/** `POST /v1/accounts` body. */
export const createAccountBody = z.strictObject({
  partyId: uuid,
  currency: z.string().min(1).max(64),
  address: z.string().max(64).optional().describe('A wallet account: the party\'s own EVM address that receives this token on chain'),
  number: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().describe('An explicit integer id, e.g. one kept from Pismo or DeltaPay (default: the next free one)'),
});

/** `POST /v1/test-helpers/accounts/{id}/fund` body. */
export const fundBody = z.strictObject({ amount: amountString });

/** `POST /v1/accounts/{id}/close`: where a balance goes (an account of the same party and currency). */
export const closeAccountBody = z.strictObject({ transferTo: uuid.describe('The open ledger account of the same party and currency that receives the balance').optional() });

/** An account as returned, with its balance (decimal string). */
export const accountResponse = z.object({
  id: z.string(),
  object: z.literal('account'),
  number: z.number().int().nullable().describe('Per org and mode, from 1 (Pismo\'s account id, DeltaPay\'s account_id)'),
  mode: z.enum(['live', 'test']),
  partyId: nullableString,
  currency: z.string(),
  type: z.enum(['ledger', 'wallet']).describe('wallet: an EVM address that receives the token on chain; Payreq holds nothing for it'),
  address: nullableString,
  network: nullableString,
  balance: nullableString.describe('Ledger accounts: the balance; wallet accounts: null (not custodial)'),
  status: z.enum(['open', 'closed']),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** The JSON of an account. */
export type AccountJson = z.input<typeof accountResponse>;
