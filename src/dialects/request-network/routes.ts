/**
 * The Request Network API dialect, mounted at `/compat/request-network` (docs/dialects/request-network.md;
 * its "Sources" list the tags such as [OAS-v1]): a client of the hosted API works against Payreq by changing its base URL. Thin routes:
 * they map the wire format onto the same use cases as `/v1` and never touch the database.
 *
 * | route | use case |
 * |---|---|
 * | `POST /v1/request`, `POST /v2/request` | find or create the payee's wallet account, create the payment request |
 * | `GET /v1/request/{paymentReference}`, `GET /v2/request/{requestId}` | read it with its on-chain state |
 * | `GET /v1/request/{paymentReference}/pay`, `GET /v2/request/{requestId}/pay` | the transactions to sign |
 * | `POST /v1/webhook`, `GET /v1/webhook`, `DELETE /v1/webhook/{id}` | `request-network` webhook endpoints |
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { isAddress, zeroAddress } from 'viem';
import { z } from 'zod';
import { findOrCreateWalletAccount } from '../../app/accounts.js';
import { chainStateOf, getPaymentRequestByReference, preparePayment } from '../../app/chain-payments.js';
import type { Deps, Principal } from '../../app/deps.js';
import { createPaymentRequest } from '../../app/payment-requests/create.js';
import { getPaymentRequest } from '../../app/payment-requests/read.js';
import { createEndpoint, deleteEndpointOf, listEndpointsOf } from '../../app/webhook-endpoints.js';
import type { ChainReference } from '../../domain/entities.js';
import { DomainError } from '../../domain/errors.js';
import { paymentReference } from '../../domain/ids.js';
import { divideRounded, formatAmount, parseAmount, parseRate } from '../../domain/money.js';
import { owedInOption, type PaymentRequest } from '../../domain/payment-request.js';
import { principalOf } from '../../http/auth.js';
import { boundedDepth } from '../../contract/v1/common.js';
import { apiKeyHook } from './auth.js';
import { sendDialectError, validationFailed } from './errors.js';
import { fromRequestId, toRequestId, wireReference } from './ids.js';
import { type RequestNetworkData, writeRequestNetworkData } from './data.js';
import { payBody, primaryReference, statusBody, v2Extras } from './mapping.js';

const recurrence = z.object({ startDate: z.string().nullable(), frequency: z.enum(['DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY']) });

/** `POST /v1/request` body ([OAS-v1]): unknown fields are ignored, as a NestJS whitelist does. */
const v1CreateBody = z.object({
  payee: z.string().max(64),
  amount: z.string().max(100),
  invoiceCurrency: z.string().min(1).max(64),
  paymentCurrency: z.string().min(1).max(64),
  payer: z.string().max(64).optional(),
  recurrence: recurrence.optional(),
});

/** `POST /v2/request` body ([OAS-v2]): `payee` is required here (crypto-to-fiat is not offered). */
const v2CreateBody = v1CreateBody.extend({
  payee: z.string().max(64).optional(),
  isCryptoToFiatAvailable: z.boolean().optional(),
  customerInfo: boundedDepth(z.record(z.string(), z.unknown()), 'customerInfo').optional(),
  reference: z.string().max(255).optional(),
  originalRequestId: z.string().max(100).optional(),
  originalRequestPaymentReference: z.string().max(100).optional(),
});

/** The pay routes' query ([OAS-v1], [OAS-v2]); `chain` and `token` ask for a crosschain payment, which Payreq does not make. */
const payQuery = z.object({
  wallet: z.string().max(100).optional(),
  amount: z.string().max(100).optional(),
  chain: z.string().max(40).optional(),
  token: z.string().max(40).optional(),
  feePercentage: z.string().max(40).optional(),
  feeAddress: z.string().max(100).optional(),
  clientUserId: z.string().max(255).optional(),
  paymentDetailsId: z.string().max(255).optional(),
});

type CreateInput = z.infer<typeof v2CreateBody>;

async function create(deps: Deps, principal: Principal, body: CreateInput): Promise<{ pr: PaymentRequest; reference: string }> {
  if (body.payee === undefined) throw validationFailed('payee', 'payee is required (crypto-to-fiat requests are not offered)');
  if (body.isCryptoToFiatAvailable === true) throw validationFailed('isCryptoToFiatAvailable', 'crypto-to-fiat is not offered by this server');
  if (!deps.chains.onChain(body.paymentCurrency)) {
    deps.currencies.get(body.paymentCurrency, 'paymentCurrency');
    throw new DomainError('chain_not_configured', `${body.paymentCurrency} is not payable on a chain this server watches`, { errors: [{ path: 'paymentCurrency', message: 'not payable on a chain this server watches' }] });
  }
  if (body.payer !== undefined && !isAddress(body.payer)) throw validationFailed('payer', 'Invalid Ethereum address');
  const wallet = await findOrCreateWalletAccount(deps, principal, { address: body.payee, currency: body.paymentCurrency, path: 'payee' });
  const stored: RequestNetworkData = { paymentCurrency: body.paymentCurrency };
  for (const key of ['payer', 'recurrence', 'customerInfo', 'reference', 'originalRequestId', 'originalRequestPaymentReference'] as const) {
    if (body[key] !== undefined) Object.assign(stored, { [key]: body[key] });
  }
  const pr = await createPaymentRequest(deps, principal, {
    amount: body.amount,
    currency: body.invoiceCurrency,
    payee: { accountId: wallet.id },
    paymentOptions: body.invoiceCurrency === body.paymentCurrency ? undefined : [{ currency: body.paymentCurrency, address: wallet.address ?? undefined }],
    // Request Network's requests do not expire; Payreq's longest lifetime stands in.
    expiresIn: deps.settings.maxExpirySeconds,
    dialectData: writeRequestNetworkData(stored),
  });
  // The option's own reference (Request Network's formula over its receiving address), as the watcher indexes it.
  const address = pr.paymentOptions.find((o) => o.currency === body.paymentCurrency)?.address;
  return { pr, reference: wireReference(address === undefined ? pr.paymentReference : paymentReference(pr.id, pr.salt, address)) };
}

async function byRequestId(deps: Deps, principal: Principal, requestId: string): Promise<PaymentRequest> {
  const id = fromRequestId(requestId);
  if (id === undefined) throw new DomainError('payment_request_not_found', 'Request not found');
  return getPaymentRequest(deps, principal, id);
}

/** The status body; `pick` chooses, among the request's references, the one the client knows it by. */
async function status(deps: Deps, pr: PaymentRequest, pick: (references: ChainReference[]) => ChainReference | undefined, v2: boolean) {
  const { references, logs } = await chainStateOf(deps, pr);
  const body = statusBody(pr, pick(references), references, logs);
  if (!v2) return body;
  return { ...body, ...v2Extras(pr, logs, (currency) => deps.currencies.get(currency).exponent, deps.clock()) };
}

async function pay(deps: Deps, principal: Principal, pr: PaymentRequest, reference: ChainReference | undefined, query: z.infer<typeof payQuery>) {
  if (query.chain !== undefined || query.token !== undefined) {
    throw new DomainError('validation_failed', 'Crosschain payments are not supported by this server: pay in the request\'s payment currency');
  }
  if (query.wallet !== undefined && !isAddress(query.wallet)) throw validationFailed('wallet', 'Invalid Ethereum address');
  if (query.feeAddress !== undefined && !isAddress(query.feeAddress)) throw validationFailed('feeAddress', 'Invalid Ethereum address');
  if ((query.feePercentage === undefined) !== (query.feeAddress === undefined)) throw validationFailed(query.feePercentage === undefined ? 'feePercentage' : 'feeAddress', 'feePercentage and feeAddress go together');
  const onChain = reference && deps.chains.onChain(reference.currency);
  const option = reference && pr.paymentOptions.find((o) => o.currency === reference.currency);
  let feeAmount: string | undefined;
  if (query.feePercentage !== undefined && onChain && option) {
    // The fee is a percentage (0–100) of the amount, on top of it, rounded down to base units.
    let rate;
    try {
      rate = parseRate(query.feePercentage);
    } catch {
      throw validationFailed('feePercentage', 'feePercentage must be a decimal between 0 and 100');
    }
    if (rate.numerator > 100n * rate.denominator) throw validationFailed('feePercentage', 'feePercentage must be a decimal between 0 and 100');
    const decimals = onChain.token.decimals;
    const base = query.amount !== undefined ? parseAmount(query.amount, decimals) : owedInOption(pr, option);
    feeAmount = formatAmount(divideRounded(base * rate.numerator, rate.denominator * 100n, 'down'), decimals);
  }
  const prepared = await preparePayment(deps, principal, pr.id, {
    currency: reference?.currency,
    // Without a wallet nothing can be read from the chain: the answer assumes no allowance and no balance.
    wallet: query.wallet ?? zeroAddress,
    amount: query.amount,
    feeAmount,
    feeAddress: query.feeAddress,
  });
  return payBody(prepared.transactions, prepared.metadata);
}

/** Registers the dialect's routes on a scope of their own (its own auth and error shapes). */
export const requestNetworkRoutes: FastifyPluginCallback<{ deps: Deps }> = (scope: FastifyInstance, { deps }, done) => {
  scope.setErrorHandler(sendDialectError);
  scope.setNotFoundHandler(async (request, reply) => sendDialectError(new DomainError('route_not_found', `Cannot ${request.method} ${request.url.split('?')[0]}`), request, reply));
  scope.addHook('onRequest', apiKeyHook(deps));
  const r = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['request network dialect'];
  const security = [{ apiKey: [] }];
  const payConfig = { payRoute: true };

  r.post('/v1/request', { schema: { tags, security, summary: 'Create a request (Request Network v1)', body: v1CreateBody } }, async (request, reply) => {
    const { pr, reference } = await create(deps, principalOf(request), request.body);
    return reply.code(201).send({ paymentReference: reference, requestID: toRequestId(pr.id) });
  });

  r.post('/v2/request', { schema: { tags, security, summary: 'Create a request (Request Network v2)', body: v2CreateBody } }, async (request, reply) => {
    const { pr, reference } = await create(deps, principalOf(request), request.body);
    return reply.code(201).send({ paymentReference: reference, requestId: toRequestId(pr.id) });
  });

  r.get('/v1/request/:paymentReference', { schema: { tags, security, summary: 'Payment status by payment reference (v1)', params: z.object({ paymentReference: z.string().max(100) }) } }, async (request) => {
    const { paymentRequest, reference } = await getPaymentRequestByReference(deps, principalOf(request), request.params.paymentReference);
    return status(deps, paymentRequest, () => reference, false);
  });

  r.get('/v2/request/:requestId', { schema: { tags, security, summary: 'A request and its payment status (v2)', params: z.object({ requestId: z.string().max(100) }) } }, async (request) => {
    const pr = await byRequestId(deps, principalOf(request), request.params.requestId);
    return status(deps, pr, (references) => primaryReference(pr, references), true);
  });

  r.get('/v1/request/:paymentReference/pay', { config: payConfig, schema: { tags, security, summary: 'The transactions to pay (v1)', params: z.object({ paymentReference: z.string().max(100) }), querystring: payQuery } }, async (request) => {
    const principal = principalOf(request);
    const { paymentRequest, reference } = await getPaymentRequestByReference(deps, principal, request.params.paymentReference);
    return pay(deps, principal, paymentRequest, reference, request.query);
  });

  r.get('/v2/request/:requestId/pay', { config: payConfig, schema: { tags, security, summary: 'The transactions to pay (v2)', params: z.object({ requestId: z.string().max(100) }), querystring: payQuery } }, async (request) => {
    const principal = principalOf(request);
    const pr = await byRequestId(deps, principal, request.params.requestId);
    const reference = primaryReference(pr, (await chainStateOf(deps, pr)).references);
    return pay(deps, principal, pr, reference, request.query);
  });

  r.post('/v1/webhook', { schema: { tags, security, summary: 'Register a webhook (request-network format)', body: z.object({ url: z.url().max(2048) }) } }, async (request, reply) => {
    const { endpoint, secret } = await createEndpoint(deps, principalOf(request), { url: request.body.url, format: 'request-network' });
    return reply.code(201).send({ id: endpoint.id, secret });
  });

  r.get('/v1/webhook', { schema: { tags, security, summary: 'The request-network webhooks' } }, async (request) => {
    const endpoints = await listEndpointsOf(deps, principalOf(request));
    return endpoints.filter((e) => e.format === 'request-network').map((e) => ({ id: e.id, url: e.url, isActive: !e.disabled, createdAt: new Date(e.createdAt).toISOString() }));
  });

  r.delete('/v1/webhook/:id', { schema: { tags, security, summary: 'Delete a webhook', params: z.object({ id: z.string().max(64) }) } }, async (request) => {
    const endpoint = await deleteEndpointOf(deps, principalOf(request), request.params.id);
    return { id: endpoint.id };
  });
  done();
};
