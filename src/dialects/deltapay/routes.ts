/**
 * The DeltaPay dialect, mounted at `/compat/deltapay` (https://github.com/DeltaCrypt/deltapay-api-docs,
 * docs/dialects/deltapay.md): `x-api-key` or `Authorization: Bearer` with a Payreq API key;
 * amounts are JSON numbers, converted exactly; users, legal entities, accounts and payment
 * requests are named by their integer `number`. Thin routes over the same use cases as `/v1`.
 *
 * | route | use case |
 * |---|---|
 * | `GET /transaction-types` | the configured list |
 * | `POST /payment-request/create` | create (payer by `username` or phone) |
 * | `GET /payment-request/from-id`, `/from-metadata` (also `/payment-requests/…`) | read |
 * | `GET /user/payment-requests/incoming`, `/user/payment-requests/outgoing`, `/legal-entity/payment-requests/outgoing` | a party's lists |
 * | `POST /payment-request/approve`, `/reject`, `/cancel` | Payreq's paths: DeltaPay's guide names these transitions, not their paths |
 * | `POST /account/callback-url/register`, `GET /account/callback-urls`, `DELETE /account/callback-url/deactivate` | `deltapay` webhook endpoints |
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { getAccountByNumber } from '../../app/accounts.js';
import type { Principal } from '../../app/deps.js';
import { getPartyByNumber } from '../../app/parties.js';
import { cancelPaymentRequest, declinePaymentRequest } from '../../app/payment-requests/cancel.js';
import { createPaymentRequest } from '../../app/payment-requests/create.js';
import { listPartyPaymentRequests, listPaymentRequests } from '../../app/payment-requests/read.js';
import { approvePaymentRequest } from '../../app/payment-requests/settle.js';
import { presentPaymentRequest } from '../../app/present.js';
import { createEndpoint, deleteEndpointOf, listEndpointsOf } from '../../app/webhook-endpoints.js';
import type { WebhookEndpoint } from '../../domain/entities.js';
import { DomainError, isDomainError } from '../../domain/errors.js';
import { allowsGenerally, type Permission } from '../../domain/grants.js';
import { formatAmount } from '../../domain/money.js';
import type { PaymentRequest, PaymentRequestStatus } from '../../domain/payment-request.js';
import type { PaymentRequestFilter } from '../../db/payment-request.repository.js';
import { principalOf } from '../../http/auth.js';
import type { DialectRouteOptions } from '../../http/dialect.js';
import { STATUS_OF } from '../../http/problem.js';
import type { DeltaPaySettings } from './settings.js';
import { amountFromJson, jsonId, jsonNumber, sendLossless, useLosslessJson } from '../json-numbers.js';
import { deltapayAuthHook } from './auth.js';
import { DeltaPayError, fieldProblem, permissionError, sendDeltaPayError } from './errors.js';
import { DELTAPAY_DATA_KEY, readDeltaPayData, writeDeltaPayData } from './data.js';
import { deltapayView, statusesOf } from './mapping.js';
import { signingKeyOf } from './webhook-format.js';

/** DeltaPay's permission names → Payreq's grants. */
const PERMISSIONS = {
  create_payment_request: 'payment_requests:create',
  view_payment_requests: 'payment_requests:read',
  approve_payment_request: 'payment_requests:pay',
  reject_payment_request: 'payment_requests:pay',
  cancel_payment_request: 'payment_requests:cancel',
  set_callback_url: 'webhooks:manage',
} as const satisfies Record<string, Permission>;
type DeltaPayPermission = keyof typeof PERMISSIONS;

/**
 * Runs `fn`; a refusal, or a resource the key cannot see while it lacks the permission
 * generally, becomes DeltaPay's 401 naming the permission and its target.
 */
async function guarded<T>(principal: Principal, permission: DeltaPayPermission, target: { kind: string; id: number | string } | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isDomainError(err, 'forbidden')) throw permissionError(permission, target);
    if (isDomainError(err) && STATUS_OF[err.code] === 404 && !allowsGenerally(principal.grants, PERMISSIONS[permission])) throw permissionError(permission, target);
    throw err;
  }
}

const createBody = z.object({
  account_id: jsonId,
  amount: jsonNumber,
  transaction_type: z.string().min(1).max(64),
  till_id: jsonId.optional(),
  note: z.string().max(255).optional(),
  metadata: z.string().max(1000).optional(),
  phone_country_dialcode: z.string().regex(/^[0-9]{1,4}$/, 'digits only, without +').optional(),
  phone_number: z.string().regex(/^[0-9]{3,15}$/, 'digits only').optional(),
  username: z.string().min(1).max(64).optional(),
  timeout: jsonId.optional(),
});
const idQuery = z.object({ payment_request_id: z.coerce.number().int().positive() });
const metadataQuery = z.object({ metadata: z.string().min(1).max(1000) });
const userQuery = z.object({ user_id: z.coerce.number().int().positive(), status: z.string().max(32).optional() });
const legalEntityQuery = z.object({ legal_entity_id: z.coerce.number().int().positive(), status: z.string().max(32).optional() });
const actionBody = z.object({ payment_request_id: jsonId });
const approveBody = actionBody.extend({ account_id: jsonId });
const registerBody = z.object({ callback_url: z.url().max(2000), account_id: jsonId, manager_entity_id: jsonId });
const callbacksQuery = z.object({ account_id: z.coerce.number().int().positive().optional(), manager_entity_id: z.coerce.number().int().positive().optional() });
const deactivateQuery = z.object({ callback_id: z.string().max(64) });

const UPDATE_PATH = '/payment-request/update';

/** Registers the dialect's routes on a scope of their own. */
export const deltapayRoutes: FastifyPluginCallback<DialectRouteOptions<DeltaPaySettings>> = (scope: FastifyInstance, { deps, settings }, done) => {
  useLosslessJson(scope);
  scope.setErrorHandler(sendDeltaPayError);
  scope.setNotFoundHandler(async (request, reply) => sendDeltaPayError(new DeltaPayError(404, 'Not Found'), request, reply));
  scope.addHook('onRequest', deltapayAuthHook(deps));
  const r = scope.withTypeProvider<ZodTypeProvider>();
  const tags = ['deltapay dialect'];
  const security = [{ apiKey: [] }];
  const view = (pr: PaymentRequest) => deltapayView(presentPaymentRequest(pr, deps, deps.clock()), readDeltaPayData(pr));

  /** The first request the key sees matching `filter`, through {@link guarded}: none is a 404, or the 401 when the key lacks the permission generally. */
  function findOne(principal: Principal, filter: PaymentRequestFilter, permission: DeltaPayPermission, target?: { kind: string; id: number }): Promise<PaymentRequest> {
    return guarded(principal, permission, target, async () => {
      const [pr] = (await listPaymentRequests(deps, principal, filter, { limit: 1 })).data;
      if (!pr) throw new DomainError('payment_request_not_found', 'no such payment request');
      return pr;
    });
  }
  const byNumber = (principal: Principal, number: number, permission: DeltaPayPermission) => findOne(principal, { number }, permission, { kind: 'payment_request', id: number });

  r.get('/transaction-types', { schema: { tags, security, summary: 'The transaction types a payment request may have (DeltaPay)' } }, () => settings.transactionTypes);

  r.post('/payment-request/create', { schema: { tags, security, summary: 'Request a payment from a user (DeltaPay)', body: createBody } }, async (request, reply) => {
    const principal = principalOf(request);
    const b = request.body;
    if (!settings.transactionTypes.includes(b.transaction_type)) {
      throw fieldProblem('body', 'transaction_type', `transaction_type must be one of: ${settings.transactionTypes.join(', ')}`);
    }
    const phone = b.phone_country_dialcode !== undefined || b.phone_number !== undefined;
    if ((b.username !== undefined) === phone || (phone && (b.phone_country_dialcode === undefined || b.phone_number === undefined))) {
      throw fieldProblem('body', 'username', 'give either username, or both phone_country_dialcode and phone_number');
    }
    const pr = await guarded(principal, 'create_payment_request', { kind: 'account', id: b.account_id }, async () => {
      const account = await getAccountByNumber(deps, principal, b.account_id);
      const exponent = deps.currencies.get(account.currency).exponent;
      return createPaymentRequest(deps, principal, {
        amount: formatAmount(amountFromJson(b.amount, exponent), exponent),
        currency: account.currency,
        payee: { accountId: account.id },
        payer: b.username !== undefined ? { username: b.username } : { phone: `+${b.phone_country_dialcode ?? ''}${b.phone_number ?? ''}` },
        // DeltaPay's requests wait until answered; `timeout` (seconds), when given, bounds that.
        expiresIn: b.timeout ?? deps.settings.maxExpirySeconds,
        description: b.note,
        dialectData: writeDeltaPayData({ ...(b.metadata === undefined ? {} : { metadata: b.metadata }), ...(b.timeout === undefined ? {} : { timeout: b.timeout }) }),
        transactionType: b.transaction_type,
        tillId: b.till_id === undefined ? undefined : String(b.till_id),
      });
    });
    return sendLossless(reply, 200, view(pr));
  });

  for (const base of ['/payment-request', '/payment-requests']) {
    r.get(`${base}/from-id`, { schema: { tags, security, summary: 'A payment request by id (DeltaPay)', querystring: idQuery } }, async (request, reply) => {
      return sendLossless(reply, 200, view(await byNumber(principalOf(request), request.query.payment_request_id, 'view_payment_requests')));
    });
    r.get(`${base}/from-metadata`, { schema: { tags, security, summary: 'The most recent payment request with this metadata (DeltaPay)', querystring: metadataQuery } }, async (request, reply) => {
      const pr = await findOne(principalOf(request), { dialectData: { dialect: DELTAPAY_DATA_KEY, fields: { metadata: request.query.metadata } } }, 'view_payment_requests');
      return sendLossless(reply, 200, view(pr));
    });
  }

  async function partyList(principal: Principal, number: number, kind: 'user' | 'legal_entity', direction: 'incoming' | 'outgoing', word: string | undefined) {
    let statuses: (PaymentRequestStatus | undefined)[] = [undefined];
    if (word !== undefined) {
      const found = statusesOf(word);
      if (!found) throw fieldProblem('query', 'status', 'status must be one of pending, approved, succeeded, failed, rejected, cancelled, reversed');
      statuses = found;
    }
    return guarded(principal, 'view_payment_requests', { kind, id: number }, async () => {
      const party = await getPartyByNumber(deps, principal, number);
      if (party.type !== kind) throw new DeltaPayError(404, 'The requested resource does not exist');
      const all: PaymentRequest[] = [];
      for (const status of statuses) all.push(...(await listPartyPaymentRequests(deps, principal, party.id, direction, status, { limit: 100 })).data);
      return all.sort((a, b) => (a.id < b.id ? 1 : -1)).slice(0, 100).map(view);
    });
  }
  r.get('/user/payment-requests/incoming', { schema: { tags, security, summary: 'Requests sent to a user (DeltaPay)', querystring: userQuery } }, async (request, reply) =>
    sendLossless(reply, 200, await partyList(principalOf(request), request.query.user_id, 'user', 'incoming', request.query.status)));
  r.get('/user/payment-requests/outgoing', { schema: { tags, security, summary: 'Requests into a user\'s accounts (DeltaPay)', querystring: userQuery } }, async (request, reply) =>
    sendLossless(reply, 200, await partyList(principalOf(request), request.query.user_id, 'user', 'outgoing', request.query.status)));
  r.get('/legal-entity/payment-requests/outgoing', { schema: { tags, security, summary: 'Requests into a legal entity\'s accounts (DeltaPay)', querystring: legalEntityQuery } }, async (request, reply) =>
    sendLossless(reply, 200, await partyList(principalOf(request), request.query.legal_entity_id, 'legal_entity', 'outgoing', request.query.status)));

  r.post('/payment-request/approve', { schema: { tags, security, summary: 'The recipient approves, paying from one of its accounts (Payreq\'s path)', body: approveBody } }, async (request, reply) => {
    const principal = principalOf(request);
    const { payment_request_id: number, account_id: accountNumber } = request.body;
    const pr = await byNumber(principal, number, 'approve_payment_request');
    const after = await guarded(principal, 'approve_payment_request', { kind: 'account', id: accountNumber }, async () => {
      const account = await getAccountByNumber(deps, principal, accountNumber);
      // DeltaPay documents an approval without funds as a failed transaction, not a refusal.
      return approvePaymentRequest(deps, principal, pr.id, { accountId: account.id }, { failWhenShort: true });
    });
    return sendLossless(reply, 200, view(after));
  });
  for (const [action, permission, run] of [['reject', 'reject_payment_request', declinePaymentRequest], ['cancel', 'cancel_payment_request', cancelPaymentRequest]] as const) {
    r.post(`/payment-request/${action}`, { schema: { tags, security, summary: `${action === 'reject' ? 'The recipient rejects' : 'The sender cancels'} (Payreq's path)`, body: actionBody } }, async (request, reply) => {
      const principal = principalOf(request);
      const pr = await byNumber(principal, request.body.payment_request_id, permission);
      const after = await guarded(principal, permission, { kind: 'payment_request', id: pr.number }, () => run(deps, principal, pr.id));
      return sendLossless(reply, 200, view(after));
    });
  }

  const callbackOf = (e: WebhookEndpoint, accountNumber: number | null) => ({
    callback_id: e.id,
    callback_url: e.url.endsWith(UPDATE_PATH) ? e.url.slice(0, -UPDATE_PATH.length) : e.url,
    account_id: accountNumber,
    manager_entity_id: Number(/manager_entity_id=(\d+)/.exec(e.description ?? '')?.[1] ?? 0) || null,
    signing_key: signingKeyOf(e.secret),
    active: !e.disabled,
    deactivation_time: e.disabled ? new Date(e.updatedAt).toISOString().replace(/Z$/, '') : null,
  });

  r.post('/account/callback-url/register', { schema: { tags, security, summary: 'Register a callback URL for an account (DeltaPay)', body: registerBody } }, async (request, reply) => {
    const principal = principalOf(request);
    const b = request.body;
    const endpoint = await guarded(principal, 'set_callback_url', { kind: 'account', id: b.account_id }, async () => {
      const account = await getAccountByNumber(deps, principal, b.account_id);
      const url = `${b.callback_url.replace(/\/+$/, '')}${UPDATE_PATH}`;
      return (await createEndpoint(deps, principal, { url, format: 'deltapay', accountId: account.id, description: `deltapay callback, manager_entity_id=${b.manager_entity_id}` })).endpoint;
    });
    return reply.code(200).send(callbackOf(endpoint, b.account_id));
  });

  r.get('/account/callback-urls', { schema: { tags, security, summary: 'The callback URLs (DeltaPay)', querystring: callbacksQuery } }, async (request) => {
    const principal = principalOf(request);
    const endpoints = await guarded(principal, 'set_callback_url', undefined, () => listEndpointsOf(deps, principal));
    const account = request.query.account_id === undefined ? undefined : await getAccountByNumber(deps, principal, request.query.account_id);
    return endpoints
      .filter((e) => e.format === 'deltapay' && (account === undefined || e.accountId === account.id))
      .map((e) => callbackOf(e, account?.number ?? null))
      .filter((c) => request.query.manager_entity_id === undefined || c.manager_entity_id === request.query.manager_entity_id);
  });

  r.delete('/account/callback-url/deactivate', { schema: { tags, security, summary: 'Deactivate a callback URL (DeltaPay)', querystring: deactivateQuery } }, async (request) => {
    const principal = principalOf(request);
    await guarded(principal, 'set_callback_url', undefined, () => deleteEndpointOf(deps, principal, request.query.callback_id));
    return { success: true };
  });
  done();
};
