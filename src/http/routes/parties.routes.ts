/** `/v1/parties`, `/v1/accounts`, `/v1/test-helpers` and `/v1/api-keys` routes. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { closeAccount, createAccount, fundAccount, getAccount } from '../../app/accounts.js';
import { createApiKey, listApiKeysOf, revokeApiKeyOf } from '../../app/api-keys.js';
import type { Deps } from '../../app/deps.js';
import { createParty, getParty } from '../../app/parties.js';
import { listPartyPaymentRequests } from '../../app/payment-requests/read.js';
import { presentAccount, presentApiKey, presentParty, presentPaymentRequest } from '../../app/present.js';
import { principalOf } from '../auth.js';
import { accountResponse, closeAccountBody, createAccountBody, fundBody } from '../../contract/v1/accounts.js';
import { apiKeyResponse, createApiKeyBody } from '../../contract/v1/api-keys.js';
import { idParams, listResponse, pageQuery } from '../../contract/v1/common.js';
import { createPartyBody, partyResponse } from '../../contract/v1/parties.js';
import { partyListQuery, paymentRequestResponse } from '../../contract/v1/payment-requests.js';

const security = [{ bearer: [] }];

/** Registers party, account, test-helper and API-key routes on a `/v1` scope. */
export function partyRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post('/parties', {
    schema: { tags: ['parties'], security, summary: 'Create a party (user or legal entity)', body: createPartyBody, response: { 201: partyResponse } },
  }, async (request, reply) => reply.code(201).send(presentParty(await createParty(deps, principalOf(request), request.body))));

  r.get('/parties/:id', {
    schema: { tags: ['parties'], security, summary: 'Get a party', params: idParams, response: { 200: partyResponse } },
  }, async (request) => presentParty(await getParty(deps, principalOf(request), request.params.id)));

  r.get('/parties/:id/payment-requests', {
    schema: {
      tags: ['parties'],
      security,
      summary: 'A party\'s incoming (to pay) or outgoing (to be paid) payment requests',
      params: idParams,
      querystring: partyListQuery,
      response: { 200: listResponse(paymentRequestResponse) },
    },
  }, async (request) => {
    const { direction, status, limit, cursor } = request.query;
    const page = await listPartyPaymentRequests(deps, principalOf(request), request.params.id, direction, status, { limit, cursor });
    const now = deps.clock();
    return { object: 'list' as const, data: page.data.map((pr) => presentPaymentRequest(pr, deps, now)), hasMore: page.hasMore, nextCursor: page.nextCursor };
  });

  r.post('/accounts', {
    schema: { tags: ['accounts'], security, summary: 'Open a ledger account for a party', body: createAccountBody, response: { 201: accountResponse } },
  }, async (request, reply) => reply.code(201).send(presentAccount(await createAccount(deps, principalOf(request), request.body), deps.currencies)));

  r.get('/accounts/:id', {
    schema: { tags: ['accounts'], security, summary: 'Get an account with its balance', params: idParams, response: { 200: accountResponse } },
  }, async (request) => presentAccount(await getAccount(deps, principalOf(request), request.params.id), deps.currencies));

  r.post('/accounts/:id/close', {
    schema: {
      tags: ['accounts'],
      security,
      summary: 'Close an account',
      description: 'An account holding a balance closes only with `transferTo`, another open ledger account of its party in its currency, which receives the balance (409 `account_not_empty` otherwise).',
      params: idParams,
      body: closeAccountBody.nullish(),
      response: { 200: accountResponse },
    },
  }, async (request) => presentAccount(await closeAccount(deps, principalOf(request), request.params.id, request.body ?? {}), deps.currencies));

  r.post('/test-helpers/accounts/:id/fund', {
    schema: { tags: ['test helpers'], security, summary: 'Test mode: credit an account from the system funding account', params: idParams, body: fundBody, response: { 200: accountResponse } },
  }, async (request) => presentAccount(await fundAccount(deps, principalOf(request), request.params.id, request.body.amount), deps.currencies));

  r.post('/api-keys', {
    schema: { tags: ['api keys'], security, summary: 'Create an API key (the secret is returned once)', body: createApiKeyBody, response: { 201: apiKeyResponse } },
  }, async (request, reply) => {
    const { key, secret, signingSecret } = await createApiKey(deps, principalOf(request), request.body);
    return reply.code(201).send({ ...presentApiKey(key), secret, ...(signingSecret === undefined ? {} : { signingSecret }) });
  });

  r.get('/api-keys', {
    schema: { tags: ['api keys'], security, summary: 'List API keys (never their secrets), newest first, with lastUsedAt', querystring: pageQuery, response: { 200: listResponse(apiKeyResponse) } },
  }, async (request) => {
    const page = await listApiKeysOf(deps, principalOf(request), request.query);
    return { object: 'list' as const, ...page, data: page.data.map(presentApiKey) };
  });

  r.delete('/api-keys/:id', {
    schema: { tags: ['api keys'], security, summary: 'Revoke an API key at once (every process stops accepting it within a second)', params: idParams, response: { 200: apiKeyResponse } },
  }, async (request) => presentApiKey(await revokeApiKeyOf(deps, principalOf(request), request.params.id)));
}
