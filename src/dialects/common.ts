/** What several dialects share: the `X-API-Key` OpenAPI security scheme (merged into `components.securitySchemes` by src/http/app.ts) and the auth headers the hardening suites send. */
import type { SecurityScheme } from '../http/dialect.js';

/** A Payreq API key in `X-API-Key`, as the Request Network, DeltaPay and Centrapay dialects take it. */
export const API_KEY_SCHEME: SecurityScheme = { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A Payreq API key, on the Request Network, DeltaPay and Centrapay dialects' };

/** The headers that carry an API key in `X-API-Key`. */
export function apiKeyHeaders(credentials: { key: string }): Record<string, string> {
  return { 'x-api-key': credentials.key };
}

/** The headers that carry an API key as a bearer token (`Authorization: Bearer …`). */
export function bearerHeaders(credentials: { key: string }): Record<string, string> {
  return { authorization: `Bearer ${credentials.key}` };
}

/** True for a JSON object (not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
