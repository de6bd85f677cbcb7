/** `/v1/api-keys`: grants, a key's create request and the key as returned. Times are RFC 3339 strings. */
import { z } from 'zod';
import { PERMISSIONS } from '../../domain/grants.js';
import { nullableString, shortText, uuid } from './common.js';

/** One grant. */
export const grantSchema = z.strictObject({ permission: z.enum(PERMISSIONS), accountId: uuid.optional(), partyId: uuid.optional() });

/** `POST /v1/api-keys` body. */
export const createApiKeyBody = z.strictObject({
  name: shortText.optional(),
  grants: z.array(grantSchema).min(1).max(50),
  signingSecret: z.boolean().optional().describe('Also issue a signing secret (returned once): the HMAC-SHA512 key of AlphaPo\'s X-Processing-Signature'),
  expiresIn: z.number().int().min(60).max(10 * 366 * 86_400).optional().describe('Seconds until the key stops authenticating (60 s to 10 years); default: it does not expire'),
});

/** An API key as returned; `secret` only at creation. */
export const apiKeyResponse = z.object({
  id: z.string(),
  object: z.literal('api_key'),
  mode: z.enum(['live', 'test']),
  name: nullableString,
  prefix: z.string(),
  grants: z.array(z.object({ permission: z.enum(PERMISSIONS), accountId: z.string().optional(), partyId: z.string().optional() })),
  hasSigningSecret: z.boolean(),
  createdAt: z.string(),
  expiresAt: nullableString.describe('When the key stops authenticating; null: never'),
  lastUsedAt: nullableString.describe('When the key last authenticated (to within a second); null: never'),
  revokedAt: nullableString.describe('When the key was revoked; null: it is not'),
  secret: z.string().optional().describe('Shown once, at creation'),
  signingSecret: z.string().optional().describe('Shown once, at creation, when asked for'),
});

/** The JSON of an API key (`secret` and `signingSecret` only at creation). */
export type ApiKeyJson = z.input<typeof apiKeyResponse>;
