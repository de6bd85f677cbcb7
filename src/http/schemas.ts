/**
 * The zod schemas of every request and response body. The TypeScript types are inferred from
 * them and the OpenAPI document is generated from them (docs/design.md#validation-at-the-edge). Request objects are
 * strict: an unknown field is a 422. Amounts are decimal strings; their per-currency rules
 * (decimals, bounds) are checked by `domain/money.ts`.
 */
import { z } from 'zod';
import { PERMISSIONS } from '../domain/grants.js';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../domain/json-depth.js';
import { EVENT_TYPES, PAYMENT_REQUEST_STATUSES } from '../domain/payment-request.js';

/** A decimal-string amount as it appears on the wire. */
export const amountString = z
  .string({ error: 'must be a decimal string such as "10.50" (amounts are never JSON numbers)' })
  .max(100)
  .describe('Decimal string in the currency, e.g. "100.50"');

const uuid = z.string().max(64).describe('UUID');
const shortText = z.string().min(1).max(255);

const MAX_METADATA_KEYS = 50;
const MAX_METADATA_BYTES = 8 * 1024;

/**
 * A check for free-form JSON: nested at most {@link MAX_JSON_DEPTH} (32) levels deep, the value
 * itself being level 1 (docs/api.md, "Creating"). It aborts the schema's later checks, so none of
 * them (the size bound's `JSON.stringify`) walks a deeper value; the path is the field.
 */
export function boundedDepth<T>(schema: z.ZodType<T>, field = 'the value'): z.ZodType<T> {
  return schema.refine((v) => !nestsDeeperThan(v, MAX_JSON_DEPTH), { error: `${field} may nest at most ${MAX_JSON_DEPTH} levels of objects and arrays`, abort: true });
}

/** Free-form JSON object: at most 32 levels deep, 50 keys of at most 40 characters, 8 KiB serialized. */
export const metadataSchema = boundedDepth(z.record(z.string().min(1).max(40), z.unknown()), 'metadata')
  .refine((m) => Object.keys(m).length <= MAX_METADATA_KEYS, `metadata may have at most ${MAX_METADATA_KEYS} keys`)
  .refine((m) => JSON.stringify(m).length <= MAX_METADATA_BYTES, `metadata may be at most ${MAX_METADATA_BYTES} bytes of JSON`);

const httpsUrl = z
  .url({ protocol: /^https$/, error: 'must be an https URL' })
  .max(255);

/** `payer` on create: exactly one way of naming who pays. */
export const payerSchema = z.union([
  z.strictObject({ accountId: uuid }),
  z.strictObject({ partyId: uuid }),
  z.strictObject({ username: z.string().min(1).max(64) }),
  z.strictObject({ phone: z.string().min(3).max(32) }),
]);

/** `POST /v1/payment-requests` body. */
export const createPaymentRequestBody = z.strictObject({
  amount: amountString,
  currency: z.string().min(1).max(64),
  payee: z.strictObject({ accountId: uuid }),
  payer: payerSchema.optional(),
  expiresIn: z.number().int().positive().optional().describe('Lifetime in seconds'),
  expiresAt: z.iso.datetime({ offset: true }).optional().describe('RFC 3339 date-time'),
  description: z.string().max(255).optional(),
  metadata: metadataSchema.optional(),
  externalId: shortText.optional(),
  lineItems: z
    .array(z.strictObject({ name: shortText, sku: z.string().max(255), qty: z.string().max(40), price: amountString.describe('May be negative: a discount') }))
    .min(1)
    .max(100)
    .optional(),
  customer: z.strictObject({ email: z.email().max(255).optional(), reference: shortText.optional() }).optional(),
  redirectUrls: z.strictObject({ store: httpsUrl.optional(), success: httpsUrl.optional(), failed: httpsUrl.optional() }).optional(),
  paymentOptions: z
    .array(z.strictObject({
      currency: z.string().min(1).max(64),
      address: z.string().max(64).optional().describe('For a token payable on chain: the payee\'s receiving address (default: the payee party\'s wallet account on that network)'),
    }))
    .max(20)
    .optional(),
  patronCodeId: shortText.optional(),
  transactionType: shortText.optional(),
  tillId: shortText.optional(),
});

/** `POST /v1/payment-requests/{id}/approve` body. */
export const approveBody = z.strictObject({ accountId: uuid.describe('The ledger account the payer pays from') });

/** `POST /v1/payment-requests/{id}/payments` body. */
export const recordPaymentBody = z.strictObject({
  amount: amountString,
  reference: shortText.describe('The payment processor\'s own reference; the payment is idempotent by it'),
  currency: z.string().min(1).max(64).optional().describe('Defaults to the request\'s currency; may be a payment option\'s'),
});

/** `POST /v1/payment-requests/{id}/payments/confirm` body: which held payment to confirm. */
export const confirmPaymentBody = z.strictObject({
  reference: shortText.describe('The reference the payment was recorded with'),
});

/** `POST /v1/payment-requests/{id}/refunds` body. */
export const refundBody = z.strictObject({
  amount: amountString,
  reason: z.string().max(255).optional(),
  reference: shortText.optional().describe('Your reference for this refund, unique per request: a repeat with the same amount answers the first refund (Centrapay\'s externalRef)'),
});

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

/** `POST /v1/accounts` body. */
export const createAccountBody = z.strictObject({
  partyId: uuid,
  currency: z.string().min(1).max(64),
  address: z.string().max(64).optional().describe('A wallet account: the party\'s own EVM address that receives this token on chain'),
  number: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional().describe('An explicit integer id, e.g. one kept from Pismo or DeltaPay (default: the next free one)'),
});

/** `GET /v1/payment-requests/{id}/pay` query: amounts are decimal strings in the option's token. */
export const payQuery = z.strictObject({
  currency: z.string().min(1).max(64).optional().describe('The on-chain option to pay in (default: the first)'),
  wallet: z.string().max(64).describe('The payer\'s address'),
  amount: z.string().max(100).optional().describe('A partial payment (default: all that is still owed)'),
  feeAmount: z.string().max(100).optional(),
  feeAddress: z.string().max(64).optional(),
});

/** `GET /v1/payment-requests/{id}/pay` response: the transactions to sign, in order. `value` is wei as a decimal string. */
export const payResponse = z.object({
  transactions: z.array(z.object({ to: z.string(), data: z.string(), value: z.string() })),
  metadata: z.object({
    stepsRequired: z.number().int(),
    needsApproval: z.boolean(),
    approvalTransactionIndex: z.number().int().nullable(),
    paymentTransactionIndex: z.number().int(),
    hasEnoughBalance: z.boolean(),
    hasEnoughGas: z.boolean(),
  }),
  payment: z.object({
    currency: z.string(),
    network: z.string(),
    chainId: z.number().int(),
    amount: z.string(),
    feeAmount: z.string(),
    paymentReference: z.string(),
    proxyAddress: z.string(),
    tokenAddress: z.string(),
    to: z.string(),
  }),
});

/** `POST /v1/test-helpers/accounts/{id}/fund` body. */
export const fundBody = z.strictObject({ amount: amountString });

/** `POST /v1/accounts/{id}/close`: where a balance goes (an account of the same party and currency). */
export const closeAccountBody = z.strictObject({ transferTo: uuid.describe('The open ledger account of the same party and currency that receives the balance').optional() });

/** One grant. */
export const grantSchema = z.strictObject({ permission: z.enum(PERMISSIONS), accountId: uuid.optional(), partyId: uuid.optional() });

/** `POST /v1/api-keys` body. */
export const createApiKeyBody = z.strictObject({
  name: shortText.optional(),
  grants: z.array(grantSchema).min(1).max(50),
  signingSecret: z.boolean().optional().describe('Also issue a signing secret (returned once): the HMAC-SHA512 key of AlphaPo\'s X-Processing-Signature'),
  expiresIn: z.number().int().min(60).max(10 * 366 * 86_400).optional().describe('Seconds until the key stops authenticating (60 s to 10 years); default: it does not expire'),
});

/** `POST /v1/merchant-configs` body. */
export const createMerchantConfigBody = z.strictObject({
  name: shortText,
  payeeAccountId: uuid.describe('The account that receives'),
  assetTypes: z.array(z.string().min(1).max(64)).min(1).max(20).optional().describe('Centrapay asset types such as centrapay.nzd.test; default: the payee account\'s'),
});

/** `{id}` path parameter. */
export const idParams = z.strictObject({ id: z.string().max(64) });

const limit = z.coerce.number().int().min(1).max(100).default(20);

/** `GET /v1/payment-requests` query (plus `metadata[key]=value` pairs, checked by the route). */
export const listQuery = z
  .object({
    limit,
    cursor: z.string().max(64).optional(),
    status: z.enum(PAYMENT_REQUEST_STATUSES).optional(),
    externalId: z.string().max(255).optional(),
    code: z.string().max(32).optional(),
    number: z.coerce.number().int().min(1).optional(),
    payeeAccountId: uuid.optional(),
    payerPartyId: uuid.optional(),
    payeePartyId: uuid.optional(),
  })
  .catchall(z.string().max(500));

/** `GET /v1/parties/{id}/payment-requests` query. */
export const partyListQuery = z.strictObject({
  direction: z.enum(['incoming', 'outgoing']),
  status: z.enum(PAYMENT_REQUEST_STATUSES).optional(),
  limit,
  cursor: z.string().max(64).optional(),
});

// ---- responses ----

const nullableString = z.string().nullable();

/** A payment request as returned. */
export const paymentRequestResponse = z.object({
  id: z.string(),
  object: z.literal('payment_request'),
  number: z.number().int().describe('Per org and mode, from 1: the integer id of the Pismo and DeltaPay dialects'),
  mode: z.enum(['live', 'test']),
  status: z.enum(PAYMENT_REQUEST_STATUSES),
  amount: z.string(),
  currency: z.string(),
  payee: z.object({
    accountId: z.string(),
    partyId: z.string(),
    accountNumber: z.number().int().nullable(),
    partyNumber: z.number().int().nullable(),
    partyType: z.enum(['user', 'legal_entity']).nullable(),
    name: nullableString.describe('The payee party\'s username (a user) or name (a legal entity), at creation'),
  }),
  payer: z.object({ accountId: nullableString, partyId: nullableString, partyNumber: z.number().int().nullable(), partyType: z.enum(['user', 'legal_entity']).nullable(), name: nullableString }).nullable(),
  paymentOptions: z.array(z.object({
    currency: z.string(),
    amount: z.string(),
    rate: z.string(),
    network: nullableString,
    chainId: z.number().int().nullable(),
    address: nullableString,
    tokenAddress: nullableString,
    paymentReference: nullableString.describe('0x + 16 hex: Request Network\'s reference over the request id, salt and this address'),
    proxyAddress: nullableString,
    uri: nullableString.describe('EIP-681 URI for what is still owed'),
  })),
  expiresAt: z.string(),
  description: nullableString,
  metadata: z.record(z.string(), z.unknown()).nullable(),
  externalId: nullableString,
  lineItems: z.array(z.object({ name: z.string(), sku: z.string(), qty: z.string(), price: z.string() })).nullable(),
  customer: z.object({ email: z.string().optional(), reference: z.string().optional() }).nullable(),
  redirectUrls: z.object({ store: z.string().optional(), success: z.string().optional(), failed: z.string().optional() }).nullable(),
  merchant: z.record(z.string(), z.unknown()).nullable(),
  patronCodeId: nullableString,
  transactionType: nullableString,
  tillId: nullableString,
  amountPaid: z.string(),
  amountRefunded: z.string(),
  paidAt: nullableString,
  failureReason: nullableString,
  code: z.string(),
  paymentLink: z.string(),
  paymentReference: z.string(),
  sequence: z.number().int(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** A payment as returned. */
export const paymentResponse = z.object({
  id: z.string(),
  object: z.literal('payment'),
  paymentRequestId: z.string(),
  rail: z.enum(['ledger', 'evm', 'external']),
  amount: z.string(),
  currency: z.string(),
  appliedAmount: z.string(),
  amountRefunded: z.string(),
  reference: z.string(),
  payerAccountId: nullableString,
  status: z.enum(['applied', 'requires_refund', 'reverted', 'held']),
  network: nullableString,
  chainId: z.number().int().nullable(),
  txHash: nullableString,
  logIndex: z.number().int().nullable(),
  blockNumber: z.number().int().nullable(),
  from: nullableString,
  to: nullableString,
  tokenAddress: nullableString,
  feeAmount: nullableString,
  feeAddress: nullableString,
  createdAt: z.string(),
  paymentRequest: paymentRequestResponse,
});

/** A refund as returned. */
export const refundResponse = z.object({
  id: z.string(),
  object: z.literal('refund'),
  paymentRequestId: z.string(),
  amount: z.string(),
  currency: z.string(),
  reason: nullableString,
  reference: nullableString,
  createdAt: z.string(),
  paymentRequest: paymentRequestResponse,
});

/** An event as returned. */
export const eventResponse = z.object({
  id: z.string(),
  object: z.literal('event'),
  type: z.enum(EVENT_TYPES),
  sequence: z.number().int(),
  paymentRequestId: z.string().nullable(),
  createdAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});

/** A page of a list. */
export function listResponse<T extends z.ZodType>(item: T) {
  return z.object({ object: z.literal('list'), data: z.array(item), hasMore: z.boolean(), nextCursor: z.string().nullable() });
}

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

// ---- webhooks and events ----

const eventTypeOrStar = z.string().min(1).max(64);

const endpointFields = {
  url: z.url({ error: 'must be an absolute URL' }).max(2048),
  enabledEvents: z.array(eventTypeOrStar).min(1).max(50).optional().describe('Event types, or ["*"] (the default) for all'),
  description: z.string().max(255).optional(),
  disabled: z.boolean().optional(),
};

/**
 * `POST /v1/webhook-endpoints` body; `formats` are the server's webhook format names, `standard`
 * first (`Deps.webhookFormats.names`).
 */
export function createEndpointBody(formats: readonly [string, ...string[]]) {
  return z.strictObject({
    ...endpointFields,
    format: z.enum(formats).optional().describe(`standard (Standard Webhooks, the default) or a provider's own: ${formats.slice(1).join(', ')}`),
    accountId: uuid.optional().describe('Only events of payment requests into this account'),
  });
}

/** `PATCH /v1/webhook-endpoints/{id}` body (the format is fixed at creation: its secret has the format's shape). */
export const updateEndpointBody = z.strictObject(endpointFields).partial();

/** A webhook endpoint as returned; `secret` only at creation and rotation. `formats` as for {@link createEndpointBody}. */
export function endpointResponse(formats: readonly [string, ...string[]]) {
  return z.object({
    id: z.string(),
    object: z.literal('webhook_endpoint'),
    mode: z.enum(['live', 'test']),
    url: z.string(),
    description: nullableString,
    enabledEvents: z.array(z.string()),
    format: z.enum(formats),
    accountId: nullableString,
    disabled: z.boolean(),
    disabledReason: nullableString,
    failingSince: nullableString,
    createdAt: z.string(),
    updatedAt: z.string(),
    centrapay: z.object({ jwksUrl: z.string(), issuer: z.string(), subject: z.string() }).optional()
      .describe('centrapay format only: what the receiver pins to verify notifications, the endpoint\'s own key set and the iss and sub of its JWTs (docs/dialects/centrapay.md)'),
    secret: z.string().optional().describe('whsec_… (standard) or 64 hex characters (request-network), shown once at creation and at rotation'),
  });
}

/** A delivery as returned, with its attempts. */
export const deliveryResponse = z.object({
  id: z.string(),
  object: z.literal('webhook_delivery'),
  eventId: z.string(),
  endpointId: z.string(),
  status: z.enum(['pending', 'succeeded', 'failed']),
  attempts: z.array(z.object({ attempt: z.number().int(), statusCode: z.number().int().nullable(), durationMs: z.number().int(), error: nullableString, responseBody: nullableString, createdAt: z.string() })),
  nextAttemptAt: nullableString,
  lastStatusCode: z.number().int().nullable(),
  lastError: nullableString,
  deliveredAt: nullableString,
  createdAt: z.string(),
});

/** `GET /v1/events` query. */
export const eventsQuery = z.strictObject({
  types: z.string().max(2000).optional().describe('Comma-separated event types'),
  after: z.string().max(64).optional().describe('An event id: list the events after it'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** `GET /v1/events/stream` query. */
export const streamQuery = z.strictObject({
  partyId: z.string().max(64).optional().describe('Only events of payment requests this party pays or is paid by'),
  types: z.string().max(2000).optional().describe('Comma-separated event types'),
});

/** `POST /v1/events/{id}/redeliver` body. */
export const redeliverBody = z.strictObject({ endpointId: z.string().max(64).optional().describe('One endpoint; all matching enabled ones when absent') }).nullish();

/** `GET /v1/webhook-endpoints/{id}/deliveries` query. */
export const pageQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(100).default(20), cursor: z.string().max(64).optional() });
