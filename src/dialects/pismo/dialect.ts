/** The Pismo dialect (docs/dialects/pismo.md) as the server registers it. */
import type { Dialect } from '../../http/dialect.js';
import { bearerHeaders, isObject } from '../common.js';
import { sendPismoError } from './errors.js';
import { pismoRoutes } from './routes.js';
import { pismoDataSchema } from './data.js';

/** Pismo's API under `/compat/pismo`: bearer keys as on `/v1`, no settings and no webhook format of its own. */
export const pismoDialect: Dialect<Record<string, never>> = {
  name: 'pismo',
  prefix: '/compat/pismo',
  readSettings: () => ({}),
  routes: pismoRoutes,
  sendError: sendPismoError,
  dataSchema: pismoDataSchema,
  hardening: {
    auth: { family: 'bearer', headers: bearerHeaders },
    isDocumentedError: (_status, _contentType, body) => isObject(body) && typeof body['error_code'] === 'string' && typeof body['error_message'] === 'string',
    read: { method: 'GET', path: '/payments/v1/payment-requests?to=x' },
    write: { method: 'POST', path: '/payments/v1/payment-requests' },
  },
};
