/**
 * The Centrapay dialect, mounted at `/compat/centrapay` (https://docs.centrapay.com/api/payment-requests,
 * docs/dialects/centrapay.md): `X-Api-Key` with a Payreq API key, Centrapay's paths, Monetary
 * amounts in minor units, `{statusCode, error, message}` errors. Thin routes over the same use
 * cases as `/v1`; a request's id is its Payreq id.
 *
 * | route | use case |
 * |---|---|
 * | `GET /webhook-endpoints/{id}/jwks.json` | the public keys of one `centrapay` webhook endpoint (no key needed) |
 * | `GET /.well-known/jwks.json` | 410: the key set once shared by every endpoint, retired |
 * | `POST /api/payment-requests` | create, from a merchant configuration (`configId`) |
 * | `GET /api/payment-requests/{id}`, `/short-code/{shortCode}`, `/external-ref/{externalRef}` | read |
 * | `GET /api/payment-requests/{id}/activities` | the request's Payment Activities, from its events |
 * | `GET /api/me/patron-code-payment-request` | the latest `new` request on the caller's patron codes |
 * | `POST /api/payment-requests/{id}/pay` | pay from the payer's ledger account (`payFromAccount`) |
 * | `POST /api/payment-requests/{id}/refund` | refund, idempotent by `externalRef` |
 * | `POST /api/payment-requests/{id}/void` | cancel a new request, or refund a paid one, within 24 h |
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { partyAccountsIn } from '../../app/accounts.js';
import type { Deps, Principal } from '../../app/deps.js';
import { currencyOfAssetType, getMerchantConfig } from '../../app/merchant-configs.js';
import { latestPatronCodeRequest, partiesOfKey } from '../../app/patron-codes.js';
import { cancelPaymentRequest } from '../../app/payment-requests/cancel.js';
import { createPaymentRequest } from '../../app/payment-requests/create.js';
import { getPaymentRequest, getPaymentRequestToPay, listPaymentRequestEvents, listPaymentRequests } from '../../app/payment-requests/read.js';
import { refundPaymentRequest } from '../../app/payment-requests/refunds.js';
import { payFromAccount } from '../../app/payment-requests/settle.js';
import { presentPaymentRequest } from '../../app/present.js';
import { type ErrorCode, isDomainError } from '../../domain/errors.js';
import { formatAmount } from '../../domain/money.js';
import { effectiveStatus, type PaymentRequest, type PaymentRequestStatus } from '../../domain/payment-request.js';
import { principalOf } from '../../http/auth.js';
import { centrapayAuthHook } from './auth.js';
import { CentrapayError, forbidden, sendCentrapayError } from './errors.js';
import { CENTRAPAY_DATA_KEY, type CentrapayData, readCentrapayData, writeCentrapayData } from './data.js';
import { activitiesOf, centrapayView, codeOfShortCode, crnOfKey, PAY_REFERENCE_PREFIX, VOID_REFERENCE } from './mapping.js';
import { CentrapayKeySets } from './key-sets.js';
import { centrapayJwksPath } from './webhook-format.js';

/** Centrapay's value limit: "Must be less than 100000000 and positive" (minor units). */
const MAX_VALUE = 100_000_000n;
/** Centrapay's default and largest `expirySeconds` (two minutes; 24 hours). */
const DEFAULT_EXPIRY_SECONDS = 120;
const MAX_EXPIRY_SECONDS = 86_400;
/** The void window: "closed 24 hours after the Payment Request createdAt". */
const VOID_WINDOW_MS = 24 * 60 * 60 * 1000;

const minorUnits = z.union([z.string().regex(/^-?(0|[1-9][0-9]*)$/, 'must be a whole number of the currency\'s smallest unit'), z.number().int()]).transform(String);
const monetary = z.object({ amount: minorUnits, currency: z.string().min(1).max(32) });
const ref = z.string().min(1).max(128);
const lineItem = z.object({
  name: z.string().min(1).max(255),
  sku: z.string().max(255).optional(),
  qty: z.union([z.string().regex(/^(0|[1-9][0-9]*)(\.[0-9]+)?$/, 'must be a positive decimal'), z.number().positive()]).transform(String),
  price: minorUnits,
  tax: z.union([z.string(), z.number()]).optional(),
  discount: z.union([z.string(), z.number()]).optional(),
  productId: z.string().max(255).optional(),
  restricted: z.boolean().optional(),
});
const createBody = z.object({
  configId: z.string().min(1).max(64).optional(),
  merchantConfigId: z.string().min(1).max(64).optional(),
  value: monetary,
  expirySeconds: z.number().int().positive().optional(),
  lineItems: z.array(lineItem).max(100).optional(),
  patronCodeId: z.string().min(1).max(64).optional(),
  externalRef: ref.optional(),
  invoiceRef: ref.optional(),
  purchaseOrderRef: ref.optional(),
  redirectPaidUrl: z.string().max(2048).optional(),
  redirectCancelUrl: z.string().max(2048).optional(),
  partialAllowed: z.boolean().optional(),
  terminalId: ref.optional(),
  deviceId: ref.optional(),
  operatorId: ref.optional(),
  barcode: ref.optional(),
  barcodeType: ref.optional(),
  taxNumber: ref.optional(),
});
const payBody = z.object({
  assetType: z.string().min(1).max(64),
  idempotencyKey: z.string().min(1).max(255),
  assetId: z.string().min(1).max(64).optional(),
  amount: minorUnits.optional(),
  mode: z.enum(['partial-payment', 'multi-asset-payment']).optional(),
  externalPaymentRef: ref.optional(),
});
const refundBody = z.object({ value: monetary, externalRef: ref, invoiceRef: ref.optional(), confirmationIdempotencyKey: ref.optional(), merchantConfigId: z.string().max(64).optional() });
const idParams = z.object({ id: z.string().max(64) });
const externalRefQuery = z.object({ pageKey: z.string().max(64).optional(), paginationLimit: z.coerce.number().int().min(1).max(100).optional(), merchantAccountId: z.string().max(64).optional() });

/** Runs `fn`, turning the listed domain error codes into Centrapay's 403 message codes. */
async function mapped<T>(fn: () => Promise<T>, codes: Partial<Record<ErrorCode, string>>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const message = isDomainError(err) ? codes[err.code] : undefined;
    if (message !== undefined) throw new CentrapayError(403, message);
    throw err;
  }
}

/** Centrapay's 403 code for a request no longer payable, by its status. */
function notPayable(status: PaymentRequestStatus): string {
  if (status === 'expired') return 'REQUEST_EXPIRED';
  if (status === 'paid' || status === 'refunded') return 'REQUEST_PAID';
  return 'REQUEST_CANCELLED';
}

function isHttpsUrl(text: string): boolean {
  try {
    return new URL(text).protocol === 'https:' && text.length <= 255;
  } catch {
    return false;
  }
}

/** Registers the dialect's routes on a scope of their own. */
export const centrapayRoutes: FastifyPluginCallback<{ deps: Deps }> = (scope: FastifyInstance, { deps }, done) => {
  scope.setErrorHandler(sendCentrapayError);
  scope.setNotFoundHandler(async (request, reply) => sendCentrapayError(new CentrapayError(404, 'Not Found'), request, reply));
  const tags = ['centrapay dialect'];
  const security = [{ apiKey: [] }];

  // Public: receivers fetch it without a key, and may cache it for as long as it says. One
  // endpoint's keys only, so that a receiver pinning it accepts no other endpoint's tokens.
  const keySets = new CentrapayKeySets(deps);
  scope.withTypeProvider<ZodTypeProvider>().get('/webhook-endpoints/:id/jwks.json', {
    schema: { tags, summary: 'The public keys that sign one centrapay-format webhook endpoint\'s notifications (JWKS)', params: idParams },
  }, async (request, reply) => {
    const keys = await keySets.keysOf(request.params.id);
    if (keys === undefined) throw new CentrapayError(404, 'Not Found');
    return reply.header('cache-control', 'public, max-age=300').send({ keys });
  });
  // The key set every endpoint once shared let one org's notifications verify at another's receiver.
  scope.get('/.well-known/jwks.json', { schema: { tags, summary: 'Retired: answers 410 naming the per-endpoint key sets' } }, () =>
    Promise.reject(new CentrapayError(410, `the shared key set is retired: verify each endpoint's notifications with its own key set, ${centrapayJwksPath('{id}')}, and check iss and sub (the endpoint's centrapay.jwksUrl, issuer and subject in GET /v1/webhook-endpoints/{id})`)),
  );

  scope.register((api, _opts, registered) => {
    api.addHook('onRequest', centrapayAuthHook(deps));
    const r = api.withTypeProvider<ZodTypeProvider>();
    const view = (pr: PaymentRequest) => centrapayView(presentPaymentRequest(pr, deps, deps.clock()), readCentrapayData(pr), deps.currencies);
    const load = (principal: Principal, id: string) => getPaymentRequest(deps, principal, id);
    async function activity(principal: Principal, pr: PaymentRequest, find: (a: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
      const all = activitiesOf(await listPaymentRequestEvents(deps, principal, pr.id), deps.currencies);
      const found = [...all].reverse().find(find);
      if (!found) throw new Error(`payment request ${pr.id} has no such activity`);
      return { ...found, createdBy: crnOfKey(principal.orgId, principal.keyId) };
    }

    r.post('/api/payment-requests', { schema: { tags, security, summary: 'Create a payment request (Centrapay)', body: createBody } }, async (request) => {
      const principal = principalOf(request);
      const b = request.body;
      const configId = b.configId ?? b.merchantConfigId;
      if (configId === undefined) throw new CentrapayError(400, 'configId is required');
      const config = await getMerchantConfig(deps, principal, configId);
      const currency = deps.currencies.find(b.value.currency);
      if (!currency) throw new CentrapayError(400, `value.currency ${b.value.currency} is not a supported currency`);
      const amount = BigInt(b.value.amount);
      if (amount <= 0n || amount >= MAX_VALUE) throw new CentrapayError(400, 'value.amount must be less than 100000000 and positive');
      if (b.lineItems !== undefined && b.lineItems.reduce((sum, li) => sum + BigInt(li.price), 0n) !== amount) throw new CentrapayError(400, 'LINE_ITEMS_SUM_CHECK_FAILED');
      for (const url of [b.redirectPaidUrl, b.redirectCancelUrl]) if (url !== undefined && !isHttpsUrl(url)) throw new CentrapayError(403, 'REDIRECT_URL_INVALID');
      const expirySeconds = b.expirySeconds ?? DEFAULT_EXPIRY_SECONDS;
      if (expirySeconds > MAX_EXPIRY_SECONDS) throw new CentrapayError(400, `expirySeconds must be at most ${MAX_EXPIRY_SECONDS}`);
      const assetCurrencies = config.assetTypes.map((t) => currencyOfAssetType(deps.currencies, t, principal.mode)).filter((c): c is string => c !== undefined);
      const stored: CentrapayData = { configId: config.id, expirySeconds };
      for (const key of ['invoiceRef', 'purchaseOrderRef', 'partialAllowed', 'terminalId', 'deviceId', 'operatorId', 'barcode', 'barcodeType', 'taxNumber', 'externalRef'] as const) {
        if (b[key] !== undefined) Object.assign(stored, { [key]: b[key] });
      }
      const decimal = (minor: string) => formatAmount(BigInt(minor), currency.exponent);
      const pr = await mapped(
        () =>
          createPaymentRequest(deps, principal, {
            amount: decimal(b.value.amount),
            currency: currency.code,
            payee: { accountId: config.payeeAccountId },
            expiresIn: expirySeconds,
            dialectData: writeCentrapayData(stored),
            lineItems: b.lineItems?.map((li) => ({ name: li.name, sku: li.sku ?? '', qty: li.qty, price: decimal(li.price) })),
            patronCodeId: b.patronCodeId,
            redirectUrls: b.redirectPaidUrl === undefined && b.redirectCancelUrl === undefined ? undefined : { success: b.redirectPaidUrl, store: b.redirectCancelUrl },
            paymentOptions: assetCurrencies.filter((c) => c !== currency.code).map((c) => ({ currency: c })),
          }),
        { patron_code_not_found: 'PATRON_CODE_INVALID', currency_mismatch: 'NO_AVAILABLE_PAYMENT_OPTIONS', rate_unavailable: 'NO_AVAILABLE_PAYMENT_OPTIONS', account_closed: 'INACTIVE_ASSET', line_items_mismatch: 'LINE_ITEMS_SUM_CHECK_FAILED' },
      );
      return view(pr);
    });

    r.get('/api/payment-requests/:id', { schema: { tags, security, summary: 'A payment request (Centrapay)', params: idParams } }, async (request) => view(await load(principalOf(request), request.params.id)));

    r.get('/api/payment-requests/short-code/:shortCode', { schema: { tags, security, summary: 'The latest payment request with this short code (Centrapay)', params: z.object({ shortCode: z.string().max(64) }) } }, async (request) => {
      const code = codeOfShortCode(request.params.shortCode);
      if (code === undefined) throw new CentrapayError(400, 'CHECKSUM_FAILED');
      const [pr] = (await listPaymentRequests(deps, principalOf(request), { code }, { limit: 1 })).data;
      if (!pr) throw forbidden();
      return view(await load(principalOf(request), pr.id));
    });

    r.get('/api/payment-requests/external-ref/:externalRef', {
      schema: { tags, security, summary: 'Payment requests with this externalRef, most recent first (Centrapay pagination)', params: z.object({ externalRef: ref }), querystring: externalRefQuery },
    }, async (request) => {
      const { pageKey, paginationLimit, merchantAccountId } = request.query;
      const page = await listPaymentRequests(
        deps,
        principalOf(request),
        { dialectData: { dialect: CENTRAPAY_DATA_KEY, fields: { externalRef: request.params.externalRef } }, ...(merchantAccountId === undefined ? {} : { payeeAccountId: merchantAccountId }) },
        { limit: paginationLimit ?? 20, cursor: pageKey },
      );
      return { items: page.data.map(view), ...(page.nextCursor === null ? {} : { nextPageKey: page.nextCursor }) };
    });

    r.get('/api/payment-requests/:id/activities', { schema: { tags, security, summary: 'The Payment Activities of a request (Centrapay)', params: idParams } }, async (request) => {
      const principal = principalOf(request);
      const pr = await load(principal, request.params.id);
      return { items: activitiesOf(await listPaymentRequestEvents(deps, principal, pr.id), deps.currencies) };
    });

    r.get('/api/me/patron-code-payment-request', { schema: { tags, security, summary: 'The latest new request attached to the caller\'s patron codes, or {} (Centrapay)' } }, async (request) => {
      const pr = await latestPatronCodeRequest(deps, principalOf(request));
      return pr === undefined ? {} : view(pr);
    });

    r.post('/api/payment-requests/:id/pay', { schema: { tags, security, summary: 'Pay a request from the payer\'s ledger account (Centrapay)', params: idParams, body: payBody } }, async (request) => {
      const principal = principalOf(request);
      const b = request.body;
      const pr = await getPaymentRequestToPay(deps, principal, request.params.id);
      const currency = currencyOfAssetType(deps.currencies, b.assetType, principal.mode);
      if (currency === undefined || !pr.paymentOptions.some((o) => o.currency === currency)) throw new CentrapayError(403, 'INVALID_ASSET_TYPE');
      if (b.mode === 'partial-payment') {
        if (readCentrapayData(pr).partialAllowed !== true) throw new CentrapayError(403, 'PARTIAL_PAYMENT_NOT_ALLOWED');
        if (b.amount === undefined) throw new CentrapayError(400, 'amount is required');
      }
      let accountId = b.assetId ?? '';
      if (b.assetId === undefined) {
        // The patron's own asset: an account of the request's payer, else of the key's party.
        const parties = pr.payerPartyId !== null ? [pr.payerPartyId] : await partiesOfKey(deps, principal);
        const accounts = (await Promise.all(parties.map((p) => partyAccountsIn(deps, principal, p, currency)))).flat().filter((a) => a.address === null);
        if (accounts.length === 0) throw new CentrapayError(403, 'INSUFFICIENT_ASSET_VALUE');
        accountId = accounts[0]?.id ?? '';
      }
      const exponent = deps.currencies.get(currency).exponent;
      const { payment } = await mapped(
        () => payFromAccount(deps, principal, pr.id, {
          accountId: accountId,
          amount: b.mode === 'partial-payment' && b.amount !== undefined ? formatAmount(BigInt(b.amount), exponent) : undefined,
          reference: `${PAY_REFERENCE_PREFIX}${b.idempotencyKey}`,
        }),
        { insufficient_funds: 'INSUFFICIENT_ASSET_VALUE', account_closed: 'INACTIVE_ASSET', currency_mismatch: 'INVALID_ASSET_TYPE', invalid_amount: 'INVALID_AMOUNT', payment_reference_conflict: 'REPEAT_REFERENCE', account_not_found: 'Forbidden', account_not_allowed: 'Forbidden' },
      ).catch((err: unknown) => {
        if (isDomainError(err, 'invalid_transition')) throw new CentrapayError(403, notPayable(err.details['currentStatus'] as PaymentRequestStatus));
        throw err;
      });
      return activity(principal, pr, (a) => a['id'] === payment.id);
    });

    r.post('/api/payment-requests/:id/refund', { schema: { tags, security, summary: 'Refund a paid request, idempotent by externalRef (Centrapay)', params: idParams, body: refundBody } }, async (request) => {
      const principal = principalOf(request);
      const b = request.body;
      const pr = await load(principal, request.params.id);
      if (b.value.currency !== pr.currency || BigInt(b.value.amount) <= 0n) throw new CentrapayError(403, 'INVALID_AMOUNT');
      const { refund } = await refund_(principal, pr, formatAmount(BigInt(b.value.amount), deps.currencies.get(pr.currency).exponent), b.externalRef);
      return activity(principal, pr, (a) => a['id'] === refund.id);
    });

    function refund_(principal: Principal, pr: PaymentRequest, amount: string, reference: string) {
      return mapped(() => refundPaymentRequest(deps, principal, pr.id, { amount, reference }), {
        refund_exceeds_paid: 'INVALID_AMOUNT',
        invalid_amount: 'INVALID_AMOUNT',
        refund_window_closed: 'REFUND_WINDOW_EXCEEDED',
        refund_reference_conflict: 'REPEAT_REFERENCE',
        insufficient_funds: 'REFUND_DECLINED',
      }).catch((err: unknown) => {
        if (isDomainError(err, 'invalid_transition')) throw new CentrapayError(403, err.details['currentStatus'] === 'refunded' ? 'ALREADY_REFUNDED' : 'NOT_PAID');
        throw err;
      });
    }

    r.post('/api/payment-requests/:id/void', { schema: { tags, security, summary: 'Void: cancel a new request or refund a paid one, within 24 hours of creation (Centrapay)', params: idParams } }, async (request) => {
      const principal = principalOf(request);
      const pr = await load(principal, request.params.id);
      const now = deps.clock();
      if (now > pr.createdAt + VOID_WINDOW_MS) throw new CentrapayError(403, 'VOID_WINDOW_EXCEEDED');
      const status = effectiveStatus(pr, now);
      const isVoidRefund = (a: Record<string, unknown>) => a['type'] === 'refund' && a['externalRef'] === undefined && a['id'] !== undefined;
      switch (status) {
        case 'pending': {
          // A partly paid request would keep the money it got: Payreq refunds only paid requests.
          if (pr.amountPaid > 0n) throw new CentrapayError(403, 'REFUND_NOT_SUPPORTED');
          const cancelled = await mapped(() => cancelPaymentRequest(deps, principal, pr.id), {}).catch((err: unknown) => {
            if (isDomainError(err, 'invalid_transition')) throw new CentrapayError(403, notPayable(err.details['currentStatus'] as PaymentRequestStatus));
            throw err;
          });
          return activity(principal, cancelled, (a) => a['type'] === 'cancellation');
        }
        case 'paid': {
          const remaining = pr.amountPaid - pr.amountRefunded;
          const { refund } = await refund_(principal, pr, formatAmount(remaining, deps.currencies.get(pr.currency).exponent), VOID_REFERENCE);
          return activity(principal, pr, (a) => a['id'] === refund.id);
        }
        case 'refunded': {
          const events = await listPaymentRequestEvents(deps, principal, pr.id);
          const voided = events.find((e) => e.type === 'refund.created' && (e.data['refund'] as { reference?: string | null } | undefined)?.reference === VOID_REFERENCE);
          if (!voided) throw new CentrapayError(403, 'ALREADY_REFUNDED');
          return activity(principal, pr, (a) => a['id'] === (voided.data['refund'] as { id: string }).id && isVoidRefund(a));
        }
        case 'expired':
          throw new CentrapayError(403, 'REQUEST_EXPIRED');
        case 'processing':
        case 'cancelled':
        case 'declined':
        case 'failed':
          // Cancelled, declined or failed already: the void's work is done; answer its cancellation.
          return activity(principal, pr, (a) => a['type'] === 'cancellation');
      }
    });
    registered();
  });
  done();
};
