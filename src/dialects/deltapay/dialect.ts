/** The DeltaPay dialect (docs/dialects/deltapay.md) as the server registers it. */
import type { Dialect } from '../../http/dialect.js';
import { API_KEY_SCHEME, apiKeyHeaders, isObject } from '../common.js';
import { sendDeltaPayError } from './errors.js';
import { deltapayRoutes } from './routes.js';
import { type DeltaPaySettings, readDeltaPaySettings } from './settings.js';
import { deltapayFormat } from './webhook-format.js';
import { deltapayDataSchema } from './data.js';

/** DeltaPay's API under `/compat/deltapay`, with its transaction types from `PAYREQ_DELTAPAY_TRANSACTION_TYPES`. */
export const deltapayDialect: Dialect<DeltaPaySettings> = {
  name: 'deltapay',
  prefix: '/compat/deltapay',
  readSettings: readDeltaPaySettings,
  routes: deltapayRoutes,
  sendError: sendDeltaPayError,
  dataSchema: deltapayDataSchema,
  webhookFormats: { deltapay: deltapayFormat },
  securitySchemes: { apiKey: API_KEY_SCHEME },
  hardening: {
    auth: { family: 'x-api-key', headers: apiKeyHeaders },
    isDocumentedError: (_status, _contentType, body) => isObject(body) && (typeof body['detail'] === 'string' || Array.isArray(body['detail'])),
    read: { method: 'GET', path: '/transaction-types' },
    write: { method: 'POST', path: '/payment-request/create' },
  },
};
