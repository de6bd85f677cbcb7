/**
 * `/v1/payment-requests`: the create, approve and list requests, the pay query and answer, and
 * the payment request as returned (also the `data` of every event about one). Amounts are decimal
 * strings in the request's currency; times are RFC 3339 strings.
 */
import { z } from 'zod';
import { PAYMENT_REQUEST_STATUSES } from '../../domain/payment-request.js';
import { amountString, httpsUrl, limit, metadataSchema, nullableString, shortText, uuid } from './common.js';

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

/** The JSON of a payment request (what `src/app/present.ts` builds and the dialects map from). */
export type PaymentRequestJson = z.input<typeof paymentRequestResponse>;
