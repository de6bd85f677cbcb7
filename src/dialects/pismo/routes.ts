/**
 * The Pismo dialect, mounted at `/compat/pismo` (https://developers.pismo.io/pismo-docs/reference/post-payments-v1-payment-requests,
 * docs/dialects/pismo.md): `Authorization: Bearer <Payreq API key>` (Pismo's org header,
 * `x-tenant`, and the account and correlation headers are accepted and ignored); amounts are
 * JSON numbers, converted exactly; accounts are named by their integer `number`.
 *
 * | route | use case |
 * |---|---|
 * | `POST /payments/v1/payment-requests` | create (`to` = the payee account, `from` = the payer account) |
 * | `POST /payments/v1/payments` with `token` | approve from `from[0].account.id` on the ledger |
 * | `GET /payments/v1/payment-requests?to=` or `?from=` (also `payments-requests`) | list |
 * | `POST /payments/v1/payment-requests/{code}/cancel`, `/decline` | Payreq's: Pismo documents no such calls |
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getAccount, getAccountByNumber } from '../../app/accounts.js';
import type { Deps, Principal } from '../../app/deps.js';
import { cancelPaymentRequest, declinePaymentRequest } from '../../app/payment-requests/cancel.js';
import { createPaymentRequest } from '../../app/payment-requests/create.js';
import { listPaymentRequests } from '../../app/payment-requests/read.js';
import { approvePaymentRequest } from '../../app/payment-requests/settle.js';
import { money } from '../../app/present.js';
import { formatAmount } from '../../domain/money.js';
import { isDomainError } from '../../domain/errors.js';
import { effectiveStatus, type PaymentRequest } from '../../domain/payment-request.js';
import { authHook, principalOf } from '../../http/auth.js';
import { boundedDepth } from '../../contract/v1/common.js';
import { amountFromJson, jsonId, jsonNumber, plainJson, sendLossless, useLosslessJson } from '../json-numbers.js';
import { PismoError, sendPismoError } from './errors.js';
import { readPismoData, writePismoData } from './data.js';
import { listItem } from './mapping.js';

const account = z.object({ id: jsonId });
const method = z.object({ currency: z.string().min(1).max(64), account });
const metadata = boundedDepth(z.record(z.string().min(1).max(40), z.unknown()), 'metadata').refine((m) => Object.keys(m).length <= 50, 'metadata may have at most 50 keys');

/** Create body: `to` and `amount` required; `from`, `expiration`, `metadata`, `location` optional (unknown fields ignored). */
const createBody = z.object({
  amount: jsonNumber,
  to: method,
  from: method.optional(),
  expiration: z.iso.datetime({ offset: true }).optional(),
  metadata: metadata.optional(),
  location: z.object({ lat: jsonNumber, lng: jsonNumber }).optional(),
});

/** Confirm body (Transfer funds with a `token`): `from` holds exactly one item. */
const confirmBody = z.object({
  token: z.string().min(1).max(64),
  descriptor: z.string().max(255).optional(),
  tracking_id: z.string().max(100).optional(),
  from: z.array(method.extend({ amount: jsonNumber })).length(1),
  to: z.array(method).max(1).optional(),
  metadata: z.union([metadata, boundedDepth(z.array(z.unknown()), 'metadata')]).optional(),
});

const listQuery = z.object({ to: z.coerce.number().int().positive().optional(), from: z.coerce.number().int().positive().optional() });
const codeParams = z.object({ code: z.string().max(64) });

const INVALID_TOKEN = 'The provided token does not exist or is expired';

async function byCode(deps: Deps, principal: Principal, code: string): Promise<PaymentRequest | undefined> {
  const page = await listPaymentRequests(deps, principal, { code }, { limit: 1 });
  return page.data[0];
}

/** The payee account's number: recorded on the request at creation; looked up for requests older than that. */
async function payeeAccountNumber(deps: Deps, principal: Principal, pr: PaymentRequest): Promise<number | null> {
  return pr.parties?.payee.accountNumber ?? (await getAccount(deps, principal, pr.payeeAccountId).catch(() => undefined))?.number ?? null;
}

async function renderList(deps: Deps, principal: Principal, requests: PaymentRequest[]) {
  const now = deps.clock();
  const items = [];
  for (const pr of requests) {
    items.push(listItem({
      code: pr.code,
      status: effectiveStatus(pr, now),
      amount: money(deps.currencies, pr.currency, pr.amount),
      expiresAt: new Date(pr.expiresAt).toISOString(),
      createdAt: new Date(pr.createdAt).toISOString(),
      metadata: pr.metadata,
      location: readPismoData(pr).location,
      toAccountNumber: await payeeAccountNumber(deps, principal, pr),
    }));
  }
  return items;
}

/** Registers the dialect's routes on a scope of their own (bearer auth, Pismo's error shapes, exact JSON numbers). */
export const pismoRoutes: FastifyPluginCallback<{ deps: Deps }> = (scope: FastifyInstance, { deps }, done) => {
  useLosslessJson(scope);
  scope.setErrorHandler(sendPismoError);
  scope.setNotFoundHandler(async (request, reply) => sendPismoError(new PismoError(404, 'NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`), request, reply));
  scope.addHook('onRequest', authHook(deps));
  const r = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['pismo dialect'];
  const security = [{ bearer: [] }];

  r.post('/payments/v1/payment-requests', { schema: { tags, security, summary: 'Create a payment request (Pismo)', body: createBody } }, async (request, reply) => {
    const principal = principalOf(request);
    const body = request.body;
    const payee = await getAccountByNumber(deps, principal, body.to.account.id);
    if (body.to.currency !== payee.currency) throw new PismoError(400, 'CURRENCY_MISMATCH', `account ${body.to.account.id} holds ${payee.currency}, not ${body.to.currency}`);
    const payer = body.from === undefined ? undefined : await getAccountByNumber(deps, principal, body.from.account.id);
    const exponent = deps.currencies.get(payee.currency).exponent;
    const minor = amountFromJson(body.amount, exponent);
    // Pismo's reference: amount ≥ 0.01.
    if (exponent > 2 && minor < 10n ** BigInt(exponent - 2)) throw new PismoError(400, 'INVALID_AMOUNT', 'amount must be at least 0.01');
    const amount = formatAmount(minor, exponent);
    const metadata = plainJson(body.metadata) as Record<string, unknown> | undefined;
    const pr = await createPaymentRequest(deps, principal, {
      amount,
      currency: payee.currency,
      payee: { accountId: payee.id },
      payer: payer === undefined ? undefined : { accountId: payer.id },
      // Pismo's expiration is optional; without one the request lives as long as Payreq allows.
      ...(body.expiration === undefined ? { expiresIn: deps.settings.maxExpirySeconds } : { expiresAt: body.expiration }),
      metadata: metadata === undefined || Object.keys(metadata).length === 0 ? undefined : metadata,
      dialectData: body.location === undefined ? undefined : writePismoData({ location: plainJson(body.location) }),
    });
    return reply.code(201).send({ type: 'TOKEN', code: pr.code });
  });

  r.post('/payments/v1/payments', { schema: { tags, security, summary: 'Confirm a payment request with its token (Pismo Transfer funds)', body: confirmBody } }, async (request, reply) => {
    const principal = principalOf(request);
    const body = request.body;
    const pr = await byCode(deps, principal, body.token);
    if (!pr || effectiveStatus(pr, deps.clock()) === 'expired') throw new PismoError(400, 'INVALID_TOKEN', INVALID_TOKEN);
    const from = body.from[0]!;
    const payer = await getAccountByNumber(deps, principal, from.account.id);
    if (from.currency !== payer.currency) throw new PismoError(400, 'CURRENCY_MISMATCH', `account ${from.account.id} holds ${payer.currency}, not ${from.currency}`);
    const to = body.to?.[0];
    if (to !== undefined) {
      const payeeNumber = await payeeAccountNumber(deps, principal, pr);
      if (to.account.id !== payeeNumber) throw new PismoError(400, 'DESTINATION_MISMATCH', `the payment request pays account ${payeeNumber ?? '?'}, not ${to.account.id}`);
    }
    const option = pr.paymentOptions.find((o) => o.currency === payer.currency);
    const exponent = deps.currencies.get(payer.currency).exponent;
    if (!option || amountFromJson(from.amount, exponent, 'from.0.amount') !== option.amount) {
      throw new PismoError(400, 'AMOUNT_MISMATCH', `from.0.amount must be the requested ${option ? formatAmount(option.amount, exponent) : formatAmount(pr.amount, deps.currencies.get(pr.currency).exponent)} ${option?.currency ?? pr.currency}`);
    }
    // A refusal from the payer's side leaves the request payable; Pismo answers it 422 with its reason.
    const after = await approvePaymentRequest(deps, principal, pr.id, { accountId: payer.id }).catch((err: unknown) => {
      const refused = isDomainError(err, 'insufficient_funds') ? 'INSUFFICIENT_FUNDS' : isDomainError(err, 'account_closed') ? 'ACCOUNT_CLOSED' : isDomainError(err, 'currency_mismatch') ? 'CURRENCY_NOT_ACCEPTED' : undefined;
      if (refused !== undefined) throw new PismoError(422, refused, `the transfer failed: ${refused.toLowerCase()}`);
      throw err;
    });
    // Integer authorization ids derived from the request's number: stable on every repeat.
    return sendLossless(reply, 200, {
      authorization_id: after.number * 2 - 1,
      authorization_ids: { credit: after.number * 2, debit: after.number * 2 - 1 },
      event_date: new Date(after.paidAt ?? after.updatedAt).toISOString(),
      tracking_id: body.tracking_id ?? after.id,
      ...(body.metadata === undefined ? {} : { metadata: plainJson(body.metadata) }),
    });
  });

  const list = async (principal: Principal, query: z.infer<typeof listQuery>) => {
    if ((query.to === undefined) === (query.from === undefined)) throw new PismoError(400, 'INVALID_FILTER', 'give exactly one of the query parameters to and from');
    const accountNumber = (query.to ?? query.from) as number;
    const accountRow = await getAccountByNumber(deps, principal, accountNumber);
    const filter = query.to !== undefined ? { payeeAccountId: accountRow.id } : { payerAccountId: accountRow.id };
    const page = await listPaymentRequests(deps, principal, filter, { limit: 100 });
    return renderList(deps, principal, page.data);
  };
  for (const path of ['/payments/v1/payment-requests', '/payments/v1/payments-requests']) {
    r.get(path, { schema: { tags, security, summary: 'List payment requests to or from an account (Pismo)', querystring: listQuery } }, async (request, reply) => sendLossless(reply, 200, await list(principalOf(request), request.query)));
  }

  for (const [action, run] of [['cancel', cancelPaymentRequest], ['decline', declinePaymentRequest]] as const) {
    r.post(`/payments/v1/payment-requests/:code/${action}`, { schema: { tags, security, summary: `${action === 'cancel' ? 'Cancel (payee)' : 'Decline (payer)'}: Payreq's, Pismo documents none`, params: codeParams } }, async (request, reply) => {
      const principal = principalOf(request);
      const pr = await byCode(deps, principal, request.params.code);
      if (!pr) throw new PismoError(404, 'PAYMENT_REQUEST_NOT_FOUND', `no payment request has code ${request.params.code}`);
      const after = await run(deps, principal, pr.id);
      return sendLossless(reply, 200, (await renderList(deps, principal, [after]))[0]);
    });
  }
  done();
};
