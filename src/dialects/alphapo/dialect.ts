/** The AlphaPo dialect (docs/dialects/alphapo.md) as the server registers it. */
import type { Dialect } from '../../http/dialect.js';
import { isObject } from '../common.js';
import { processingSignature } from './auth.js';
import { sendAlphaPoError } from './errors.js';
import { alphapoRoutes } from './routes.js';
import { type AlphaPoSettings, readAlphaPoSettings } from './settings.js';
import { alphapoFormat } from './webhook-format.js';

/** AlphaPo's API under `/compat/alphapo`: signed requests, amount limits from `PAYREQ_ALPHAPO_AMOUNT_LIMITS`. */
export const alphapoDialect: Dialect<AlphaPoSettings> = {
  name: 'alphapo',
  prefix: '/compat/alphapo',
  readSettings: readAlphaPoSettings,
  routes: alphapoRoutes,
  sendError: sendAlphaPoError,
  webhookFormats: { alphapo: alphapoFormat },
  securitySchemes: {
    processingKey: { type: 'apiKey', in: 'header', name: 'x-processing-key', description: 'A Payreq API key with a signing secret, on the AlphaPo dialect (with X-Processing-Signature)' },
  },
  hardening: {
    // The key, and the body signed with its signing secret (without one the signature is wrong).
    auth: {
      family: 'processing-key',
      signed: true,
      headers: (credentials, body) => ({ 'x-processing-key': credentials.key, 'x-processing-signature': processingSignature(credentials.signingSecret ?? 'none', body ?? '') }),
    },
    isDocumentedError: (_status, _contentType, body) => isObject(body) && typeof body['error'] === 'string' && (typeof body['code'] === 'string' || typeof body['code'] === 'number'),
    read: { method: 'POST', path: '/api/v2/requests' },
    write: { method: 'POST', path: '/api/v2/requests' },
  },
};
