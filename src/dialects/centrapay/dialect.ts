/** The Centrapay dialect (docs/dialects/centrapay.md) as the server registers it. */
import type { Dialect } from '../../http/dialect.js';
import { API_KEY_SCHEME, apiKeyHeaders, isObject } from '../common.js';
import { sendCentrapayError } from './errors.js';
import { centrapayRoutes } from './routes.js';
import { centrapayFormat } from './webhook-format.js';
import { centrapayDataSchema } from './data.js';

/** Centrapay's API under `/compat/centrapay`; its key sets (`/.well-known/`, `/webhook-endpoints/`) are public. */
export const centrapayDialect: Dialect<Record<string, never>> = {
  name: 'centrapay',
  prefix: '/compat/centrapay',
  readSettings: () => ({}),
  routes: centrapayRoutes,
  sendError: sendCentrapayError,
  dataSchema: centrapayDataSchema,
  webhookFormats: { centrapay: centrapayFormat },
  securitySchemes: { apiKey: API_KEY_SCHEME },
  hardening: {
    auth: { family: 'x-api-key', headers: apiKeyHeaders },
    publicPaths: ['/.well-known/', '/webhook-endpoints/'],
    isDocumentedError: (status, _contentType, body) => isObject(body) && body['statusCode'] === status && typeof body['error'] === 'string' && typeof body['message'] === 'string',
    read: { method: 'GET', path: '/api/me/patron-code-payment-request' },
    // Centrapay answers every malformed request 400 (docs/dialects/centrapay.md), a body over the limit too.
    write: { method: 'POST', path: '/api/payment-requests', tooLargeStatus: 400 },
  },
};
