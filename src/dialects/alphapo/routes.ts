/**
 * The AlphaPo dialect, mounted at `/compat/alphapo` (https://docs.alphapo.net,
 * docs/dialects/alphapo.md): `POST /api/payments/v1/requests` (the operation's own server in AlphaPo's documentation) and
 * `POST /api/v2/requests` create a payment request, authenticated and signed as AlphaPo's API
 * is (`X-Processing-Key`, `X-Processing-Signature`). A create without `foreign_id` is refused
 * when its signature created a request within the last 24 hours (a verbatim replay:
 * src/db/alphapo-signature.repository.ts). AlphaPo's body names no payee: the merchant
 * is the legal-entity party the key's `payment_requests:create` grant is scoped to, paid into
 * that party's account in the request's currency. AlphaPo documents no read, list or cancel
 * call; status changes reach the merchant through `alphapo` webhook endpoints.
 */
import type { FastifyInstance, FastifyPluginCallback } from 'fastify';
import type { Deps, Principal } from '../../app/deps.js';
import { getParty } from '../../app/parties.js';
import { createPaymentRequest } from '../../app/payment-requests/create.js';
import { presentPaymentRequest } from '../../app/present.js';
import { recordSignature, signatureDigest } from '../../db/alphapo-signature.repository.js';
import type { CommitHold } from '../../db/commit-hold.js';
import { isDomainError } from '../../domain/errors.js';
import type { PaymentRequest } from '../../domain/payment-request.js';
import { principalOf } from '../../http/auth.js';
import type { DialectRouteOptions } from '../../http/dialect.js';
import { useAlphaPoAuth } from './auth.js';
import { AlphaPoError, AUTH_ERRORS, sendAlphaPoError } from './errors.js';
import { createdView, currencyObject } from './mapping.js';
import type { AlphaPoSettings } from './settings.js';
import { validateCreate } from './validation.js';

/**
 * The merchant of a key: the first legal-entity party that one of its `payment_requests:create`
 * (or `admin`) grants is scoped to.
 * @throws AlphaPoError "Merchant is disabled." when the key names none.
 */
async function merchantOf(deps: Deps, principal: Principal): Promise<string> {
  for (const grant of principal.grants) {
    if (grant.partyId === undefined || (grant.permission !== 'payment_requests:create' && grant.permission !== 'admin')) continue;
    const party = await getParty(deps, principal, grant.partyId).catch(() => undefined);
    if (party?.type === 'legal_entity') return party.id;
  }
  throw AUTH_ERRORS.merchant_disabled;
}

/** The answer to a signed create sent again within 24 hours (Payreq's choice: AlphaPo documents none). */
export const REPLAYED_SIGNATURE = new AlphaPoError(400, 'A request with this signature was already received.');

/**
 * Creates the request, and when `signature` is given records its digest in the same
 * transaction, so that the request and the record of its signature commit together or not at
 * all (a create that fails leaves the signature free for the retry).
 * @throws AlphaPoError {@link REPLAYED_SIGNATURE} when the signature created a request in the
 *   last 24 hours (nothing is created); the errors of createPaymentRequest.
 */
async function createOnce(deps: Deps, principal: Principal, input: Parameters<typeof createPaymentRequest>[2], signature: string | undefined): Promise<PaymentRequest> {
  if (signature === undefined) return createPaymentRequest(deps, principal, input);
  const hold: CommitHold = { active: true };
  let pr: PaymentRequest;
  try {
    pr = await deps.store.runHolding(hold, () => createPaymentRequest(deps, principal, input));
  } catch (err) {
    await hold.held?.rollback();
    throw err;
  }
  const held = hold.held;
  if (held?.state !== 'open') throw new Error('creating an AlphaPo payment request wrote no transaction to hold');
  let recorded: boolean;
  try {
    recorded = await recordSignature(held.tx, principal.orgId, principal.mode, signatureDigest(principal.keyId, signature), deps.clock());
  } catch (err) {
    await held.rollback();
    throw err;
  }
  if (!recorded) {
    await held.rollback();
    throw REPLAYED_SIGNATURE;
  }
  await held.commit();
  return pr;
}

/** Registers the dialect's routes on a scope of their own. */
export const alphapoRoutes: FastifyPluginCallback<DialectRouteOptions<AlphaPoSettings>> = (scope: FastifyInstance, { deps, settings }, done) => {
  scope.setErrorHandler(sendAlphaPoError);
  // AlphaPo: "No key header" is also the answer when "the request URL is invalid".
  scope.setNotFoundHandler(async (request, reply) => sendAlphaPoError(AUTH_ERRORS.required_header_key, request, reply));
  useAlphaPoAuth(scope, deps);
  const schema = { tags: ['alphapo dialect'], security: [{ processingKey: [] }], summary: 'Create a payment request (AlphaPo)' };

  for (const path of ['/api/payments/v1/requests', '/api/v2/requests']) {
    scope.post(path, { schema }, async (request) => {
      const principal = principalOf(request);
      const merchant = await merchantOf(deps, principal);
      const input = await validateCreate(deps, settings, principal, merchant, request.body as Record<string, unknown>, deps.clock());
      try {
        // With a foreign_id a replay is already refused as a duplicate foreign_id; without one, by its signature.
        const signature = input.externalId === undefined ? request.headers['x-processing-signature'] : undefined;
        const pr = await createOnce(deps, principal, input, Array.isArray(signature) ? signature[0] : signature);
        return { data: createdView(presentPaymentRequest(pr, deps, deps.clock()), deps.currencies) };
      } catch (err) {
        if (isDomainError(err, 'external_id_conflict')) throw new AlphaPoError(400, 'Payment request with this foreign_id already exists.');
        if (isDomainError(err, 'rate_unavailable')) {
          const option = input.paymentOptions?.[0]?.currency ?? input.currency;
          const iso = (code: string) => currencyObject(deps.currencies.get(code)).iso;
          throw new AlphaPoError(422, `Exchange rate is not available between ${iso(input.currency)} and ${iso(option)}.`);
        }
        throw err;
      }
    });
  }
  done();
};
