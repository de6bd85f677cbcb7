/**
 * `/v1/payment-requests` routes. Thin: parse, call the use case, present.
 */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Deps } from '../../app/deps.js';
import { cancelPaymentRequest, declinePaymentRequest } from '../../app/payment-requests/cancel.js';
import { createPaymentRequest } from '../../app/payment-requests/create.js';
import { getPaymentRequest, listPaymentRequestEvents, listPaymentRequests } from '../../app/payment-requests/read.js';
import { confirmRecordedPayment, recordPayment } from '../../app/payment-requests/record.js';
import { refundPaymentRequest } from '../../app/payment-requests/refunds.js';
import { approvePaymentRequest } from '../../app/payment-requests/settle.js';
import { preparePayment } from '../../app/chain-payments.js';
import { formatAmount } from '../../domain/money.js';
import { presentEvent, presentPayment, presentPaymentRequest, presentRefund } from '../../app/present.js';
import { DomainError } from '../../domain/errors.js';
import type { PaymentRequest } from '../../domain/payment-request.js';
import { principalOf } from '../auth.js';
import { idParams, listResponse } from '../../contract/v1/common.js';
import { eventResponse } from '../../contract/v1/events.js';
import { approveBody, createPaymentRequestBody, listQuery, paymentRequestResponse, payQuery, payResponse } from '../../contract/v1/payment-requests.js';
import { confirmPaymentBody, paymentResponse, recordPaymentBody } from '../../contract/v1/payments.js';
import { refundBody, refundResponse } from '../../contract/v1/refunds.js';

const KNOWN_QUERY = new Set(['limit', 'cursor', 'status', 'externalId', 'code', 'number', 'payeeAccountId', 'payerPartyId', 'payeePartyId']);
const METADATA_QUERY = /^metadata\[([A-Za-z0-9_.:-]{1,40})\]$/;

/** Splits `metadata[key]=value` pairs out of a query; any other unknown parameter is a 422. */
export function metadataFilter(query: Record<string, unknown>): Record<string, string> | undefined {
  const filter: Record<string, string> = {};
  for (const [name, value] of Object.entries(query)) {
    if (KNOWN_QUERY.has(name)) continue;
    const match = METADATA_QUERY.exec(name);
    if (!match?.[1] || typeof value !== 'string') {
      throw new DomainError('validation_failed', `unknown query parameter "${name}"`, { errors: [{ path: `querystring.${name}`, message: 'unknown query parameter' }] });
    }
    filter[match[1]] = value;
  }
  return Object.keys(filter).length === 0 ? undefined : filter;
}

const tags = ['payment requests'];
const security = [{ bearer: [] }];

/** Registers the payment request routes on a `/v1` scope. */
export function paymentRequestRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const show = (pr: PaymentRequest) => presentPaymentRequest(pr, deps, deps.clock());

  r.post('/payment-requests', {
    schema: { tags, security, summary: 'Create a payment request', body: createPaymentRequestBody, response: { 201: paymentRequestResponse } },
  }, async (request, reply) => {
    const pr = await createPaymentRequest(deps, principalOf(request), request.body);
    return reply.code(201).send(show(pr));
  });

  r.get('/payment-requests', {
    schema: {
      tags,
      security,
      summary: 'List payment requests, most recent first',
      description: 'Filters combine with AND; `metadata[key]=value` matches a metadata member (repeatable).',
      querystring: listQuery,
      response: { 200: listResponse(paymentRequestResponse) },
    },
  }, async (request) => {
    const { limit, cursor, status, externalId, code, number, payeeAccountId, payerPartyId, payeePartyId } = request.query;
    const metadata = metadataFilter(request.query);
    const page = await listPaymentRequests(deps, principalOf(request), { status, externalId, code, number, payeeAccountId, payerPartyId, payeePartyId, metadata }, { limit, cursor });
    return { object: 'list' as const, data: page.data.map(show), hasMore: page.hasMore, nextCursor: page.nextCursor };
  });

  r.get('/payment-requests/:id', {
    schema: { tags, security, summary: 'Get a payment request', params: idParams, response: { 200: paymentRequestResponse } },
  }, async (request) => show(await getPaymentRequest(deps, principalOf(request), request.params.id)));

  r.get('/payment-requests/:id/events', {
    schema: { tags, security, summary: 'A payment request\'s events, in sequence order', params: idParams, response: { 200: listResponse(eventResponse) } },
  }, async (request) => {
    const events = await listPaymentRequestEvents(deps, principalOf(request), request.params.id);
    return { object: 'list' as const, data: events.map(presentEvent), hasMore: false, nextCursor: null };
  });

  r.post('/payment-requests/:id/approve', {
    schema: {
      tags,
      security,
      summary: 'Approve and pay from a ledger account (payer)',
      description: 'Moves pending → processing → paid in one transaction. A refusal from the payer\'s side (currency_mismatch 422, account_closed 409, insufficient_funds 409) writes nothing and leaves the request pending. An open request takes the paying account as its payer.',
      params: idParams,
      body: approveBody,
      response: { 200: paymentRequestResponse },
    },
  }, async (request) => show(await approvePaymentRequest(deps, principalOf(request), request.params.id, request.body)));

  r.post('/payment-requests/:id/decline', {
    schema: { tags, security, summary: 'Decline a payment request (payer)', params: idParams, body: z.strictObject({}).nullish(), response: { 200: paymentRequestResponse } },
  }, async (request) => show(await declinePaymentRequest(deps, principalOf(request), request.params.id)));

  r.post('/payment-requests/:id/cancel', {
    schema: { tags, security, summary: 'Cancel a payment request (payee)', params: idParams, body: z.strictObject({}).nullish(), response: { 200: paymentRequestResponse } },
  }, async (request) => show(await cancelPaymentRequest(deps, principalOf(request), request.params.id)));

  r.post('/payment-requests/:id/payments', {
    schema: {
      tags,
      security,
      summary: 'Record a payment received outside the ledger (a privileged grant: recording is minting)',
      description: 'Idempotent by `reference`: 201 the first time, 200 with the same payment after.',
      params: idParams,
      body: recordPaymentBody,
      response: { 200: paymentResponse, 201: paymentResponse },
    },
  }, async (request, reply) => {
    const { payment, paymentRequest, replayed } = await recordPayment(deps, principalOf(request), request.params.id, request.body);
    return reply.code(replayed ? 200 : 201).send({ ...presentPayment(payment, paymentRequest.currency, deps.currencies), paymentRequest: show(paymentRequest) });
  });

  r.post('/payment-requests/:id/payments/confirm', {
    schema: {
      tags,
      security,
      summary: 'Confirm a recorded payment held under PAYREQ_HOLD_RECORDED_PAYMENTS (payments:confirm)',
      description: 'Applies the held payment with this reference now: the payee is credited and the request counts it. 200 with the payment unchanged when it is no longer held.',
      params: idParams,
      body: confirmPaymentBody,
      response: { 200: paymentResponse },
    },
  }, async (request) => {
    const { payment, paymentRequest } = await confirmRecordedPayment(deps, principalOf(request), request.params.id, request.body);
    return { ...presentPayment(payment, paymentRequest.currency, deps.currencies), paymentRequest: show(paymentRequest) };
  });

  r.get('/payment-requests/:id/pay', {
    schema: {
      tags,
      security,
      summary: 'The transactions a wallet signs to pay on chain',
      description:
        'Built as Request Network\'s payment-processor builds them: an ERC-20 approve(proxy, max) first when the wallet\'s allowance is below amount + fee, then ERC20FeeProxy transferFromWithReferenceAndFee; EthereumFeeProxy transferWithReferenceAndFee with value for the native currency. The amount is what is still owed (or `amount`). Starts listening on the reference.',
      params: idParams,
      querystring: payQuery,
      response: { 200: payResponse },
    },
  }, async (request) => {
    const prepared = await preparePayment(deps, principalOf(request), request.params.id, request.query);
    const { onChain, intent, reference } = prepared;
    const decimals = onChain.token.decimals;
    return {
      transactions: prepared.transactions.map((t) => ({ to: t.to, data: t.data, value: t.value.toString() })),
      metadata: prepared.metadata,
      payment: {
        currency: reference.currency,
        network: onChain.chain.network,
        chainId: onChain.chain.chainId,
        amount: formatAmount(intent.amount, decimals),
        feeAmount: formatAmount(intent.feeAmount, decimals),
        paymentReference: `0x${reference.reference}`,
        proxyAddress: onChain.proxyAddress,
        tokenAddress: onChain.tokenAddress,
        to: intent.to,
      },
    };
  });

  r.post('/payment-requests/:id/refunds', {
    schema: { tags, security, summary: 'Refund a paid request, partly or fully, or the money a request that ended partly paid took', params: idParams, body: refundBody, response: { 200: refundResponse, 201: refundResponse } },
  }, async (request, reply) => {
    const { refund, paymentRequest, replayed } = await refundPaymentRequest(deps, principalOf(request), request.params.id, request.body);
    return reply.code(replayed ? 200 : 201).send({ ...presentRefund(refund, paymentRequest.currency, deps.currencies), paymentRequest: show(paymentRequest) });
  });
}
