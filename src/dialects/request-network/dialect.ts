/** The Request Network dialect (docs/dialects/request-network.md) as the server registers it. */
import type { Dialect } from '../../http/dialect.js';
import { API_KEY_SCHEME, apiKeyHeaders, isObject } from '../common.js';
import { sendDialectError } from './errors.js';
import { requestNetworkRoutes } from './routes.js';
import { requestNetworkFormat } from './webhook-format.js';
import { requestNetworkDataSchema } from './data.js';

/** Request Network's API under `/compat/request-network`; it has no settings of its own. */
export const requestNetworkDialect: Dialect<Record<string, never>> = {
  name: 'request-network',
  prefix: '/compat/request-network',
  readSettings: () => ({}),
  routes: requestNetworkRoutes,
  sendError: sendDialectError,
  dataSchema: requestNetworkDataSchema,
  webhookFormats: { 'request-network': requestNetworkFormat },
  securitySchemes: { apiKey: API_KEY_SCHEME },
  hardening: {
    auth: { family: 'x-api-key', headers: apiKeyHeaders },
    isDocumentedError: (status, _contentType, body) => isObject(body) && typeof body['message'] === 'string' && (body['statusCode'] === status || Array.isArray(body['errors'])),
    read: { method: 'GET', path: '/v1/webhook' },
    write: { method: 'POST', path: '/v2/request' },
  },
};
