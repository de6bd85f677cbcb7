/** `/v1/parties`: a party's create request and the party as returned. Times are RFC 3339 strings. */
import { z } from 'zod';
import { metadataSchema, nullableString, shortText } from './common.js';

/** `POST /v1/parties` body. */
export const createPartyBody = z.strictObject({
  type: z.enum(['user', 'legal_entity']),
  username: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only, at most 64').optional(),
  phone: z.string().min(3).max(32).optional().describe('International form with +, stored as E.164'),
  email: z.email().max(255).optional(),
  name: shortText.optional(),
  merchant: metadataSchema.optional().describe('Merchant configuration of a legal entity'),
  number: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().describe('An explicit integer id, e.g. one kept from DeltaPay (default: the next free one)'),
});

/** A party as returned. */
export const partyResponse = z.object({
  id: z.string(),
  object: z.literal('party'),
  number: z.number().int().describe('Per org and mode, from 1 (DeltaPay\'s user_id / legal_entity_id)'),
  mode: z.enum(['live', 'test']),
  type: z.enum(['user', 'legal_entity']),
  username: nullableString,
  phone: nullableString,
  email: nullableString,
  name: nullableString,
  merchant: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
});

/** The JSON of a party. */
export type PartyJson = z.input<typeof partyResponse>;
