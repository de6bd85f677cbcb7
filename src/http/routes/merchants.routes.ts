/** `/v1/merchant-configs` and `/v1/parties/{id}/patron-codes`: Centrapay's merchant configurations and patron codes in canonical form. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from '../../app/deps.js';
import { createMerchantConfig, getMerchantConfig, listMerchantConfigs } from '../../app/merchant-configs.js';
import { createPatronCode, listPartyPatronCodes } from '../../app/patron-codes.js';
import { presentMerchantConfig, presentPatronCode } from '../../app/present.js';
import { idParams, listResponse } from '../../contract/v1/common.js';
import { createMerchantConfigBody, merchantConfigResponse, patronCodeResponse } from '../../contract/v1/merchants.js';
import type { MerchantConfig } from '../../domain/entities.js';
import { principalOf } from '../auth.js';

const security = [{ bearer: [] }];

/** Registers the merchant configuration and patron code routes on a `/v1` scope. */
export function merchantRoutes(app: FastifyInstance, deps: Deps): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const presentConfig = (c: MerchantConfig) => presentMerchantConfig(c, deps.currencies);
  const list = <T>(data: T[]) => ({ object: 'list' as const, data, hasMore: false, nextCursor: null });

  r.post('/merchant-configs', {
    schema: { tags: ['merchant configs'], security, summary: 'Create a merchant configuration: the account that receives and the asset types accepted (Centrapay\'s configId)', body: createMerchantConfigBody, response: { 201: merchantConfigResponse } },
  }, async (request, reply) => reply.code(201).send(presentConfig(await createMerchantConfig(deps, principalOf(request), request.body))));

  r.get('/merchant-configs', {
    schema: { tags: ['merchant configs'], security, summary: 'List merchant configurations', response: { 200: listResponse(merchantConfigResponse) } },
  }, async (request) => list((await listMerchantConfigs(deps, principalOf(request))).map(presentConfig)));

  r.get('/merchant-configs/:id', {
    schema: { tags: ['merchant configs'], security, summary: 'Get a merchant configuration', params: idParams, response: { 200: merchantConfigResponse } },
  }, async (request) => presentConfig(await getMerchantConfig(deps, principalOf(request), request.params.id)));

  r.post('/parties/:id/patron-codes', {
    schema: { tags: ['parties'], security, summary: 'Issue a patron code for a party: requests created with it are attached to the party, which pays them', params: idParams, response: { 201: patronCodeResponse } },
  }, async (request, reply) => reply.code(201).send(presentPatronCode(await createPatronCode(deps, principalOf(request), request.params.id))));

  r.get('/parties/:id/patron-codes', {
    schema: { tags: ['parties'], security, summary: 'A party\'s patron codes', params: idParams, response: { 200: listResponse(patronCodeResponse) } },
  }, async (request) => list((await listPartyPatronCodes(deps, principalOf(request), request.params.id)).map(presentPatronCode)));
}
