/**
 * What the hardening suites know about a route, read from the app's route table
 * (`src/http/route-table.ts`) and its OpenAPI document: how a caller authenticates, which error
 * format a refusal must have, and what goes in each path parameter. {@link planRoutes} fails
 * for a route it cannot place, so a route added without the generators reaching it fails the
 * suites instead of going untested (test/hardening/route-plan.test.ts shows it).
 */
import { processingSignature } from '../../src/dialects/alphapo/auth.js';
import { ERROR_CODES } from '../../src/domain/errors.js';
import type { RouteEntry } from '../../src/http/route-table.js';

/** How a route's caller authenticates. */
export type AuthFamily = 'bearer' | 'x-api-key' | 'processing-key' | 'public';

/** Whose error format a route answers in. */
export type ErrorFamily = 'problem' | 'pay-page' | 'request-network' | 'pismo' | 'deltapay' | 'centrapay' | 'alphapo';

/** What fills a path parameter. */
export type ParamKind = 'id' | 'code' | 'payment-reference' | 'request-id' | 'short-code' | 'external-ref';

/** A route the suites can reach. */
export interface PlannedRoute extends RouteEntry {
  auth: AuthFamily;
  errors: ErrorFamily;
  params: { name: string; kind: ParamKind }[];
}

/** Routes that do not answer JSON, so neither suite sends them generated input. */
export const NOT_JSON: readonly { method: string; url: RegExp; why: string }[] = [
  { method: 'GET', url: /^\/docs(\/|$)/, why: 'the reference UI (HTML and static files)' },
  { method: 'GET', url: /^\/metrics$/, why: "Prometheus' text format" },
  { method: 'GET', url: /^\/v1\/events\/stream$/, why: 'a Server-Sent Events stream' },
  { method: 'GET', url: /^\/pay\/:code\/events$/, why: 'a Server-Sent Events stream' },
  { method: 'GET', url: /^\/pay\/:code$/, why: 'the HTML pay page' },
];

const FAMILIES: readonly { prefix: string; auth: AuthFamily; errors: ErrorFamily }[] = [
  { prefix: '/v1/', auth: 'bearer', errors: 'problem' },
  { prefix: '/compat/request-network/', auth: 'x-api-key', errors: 'request-network' },
  { prefix: '/compat/pismo/', auth: 'bearer', errors: 'pismo' },
  { prefix: '/compat/deltapay/', auth: 'x-api-key', errors: 'deltapay' },
  { prefix: '/compat/centrapay/.well-known/', auth: 'public', errors: 'centrapay' },
  { prefix: '/compat/centrapay/webhook-endpoints/', auth: 'public', errors: 'centrapay' },
  { prefix: '/compat/centrapay/', auth: 'x-api-key', errors: 'centrapay' },
  { prefix: '/compat/alphapo/', auth: 'processing-key', errors: 'alphapo' },
  { prefix: '/pay/', auth: 'public', errors: 'pay-page' },
];

/** Public routes outside the families above, answering problem documents. */
const PUBLIC_ROOT = new Set(['/healthz', '/openapi.json']);

const PARAM_KINDS: Readonly<Record<string, ParamKind>> = {
  id: 'id',
  code: 'code',
  paymentReference: 'payment-reference',
  requestId: 'request-id',
  shortCode: 'short-code',
  externalRef: 'external-ref',
};

/** True when the suites leave `route` out (it does not answer JSON). */
export function isNotJson(route: RouteEntry): boolean {
  return NOT_JSON.some((n) => n.method === route.method && n.url.test(route.url));
}

/**
 * Places every JSON route of the table.
 * @throws Error naming each route the generators cannot reach: an unknown URL prefix (no auth or
 *   error format known) or a path parameter they cannot fill.
 */
export function planRoutes(routes: readonly RouteEntry[]): PlannedRoute[] {
  const planned: PlannedRoute[] = [];
  const unreachable: string[] = [];
  for (const route of routes) {
    if (isNotJson(route)) continue;
    const family = PUBLIC_ROOT.has(route.url) ? { auth: 'public' as const, errors: 'problem' as const } : FAMILIES.find((f) => route.url.startsWith(f.prefix));
    const names = [...route.url.matchAll(/:([A-Za-z_]+)/g)].map((m) => m[1] as string);
    const unknown = names.filter((n) => PARAM_KINDS[n] === undefined);
    if (!family || unknown.length > 0 || route.url.includes('*')) {
      unreachable.push(`${route.method} ${route.url}${family ? '' : ' (no auth or error format known for its prefix)'}${unknown.length > 0 ? ` (cannot fill :${unknown.join(', :')})` : ''}`);
      continue;
    }
    planned.push({ ...route, auth: family.auth, errors: family.errors, params: names.map((name) => ({ name, kind: PARAM_KINDS[name] as ParamKind })) });
  }
  if (unreachable.length > 0) throw new Error(`routes the hardening generators cannot reach; teach test/hardening/routes.ts about them:\n  ${unreachable.join('\n  ')}`);
  return planned;
}

/**
 * The headers that carry `key` the way `auth` says (AlphaPo's also sign `body` with
 * `signingSecret`; without one the signature is wrong), plus the body's media type.
 */
export function credentialHeaders(auth: AuthFamily, key: string | undefined, signingSecret: string | undefined, body: string | undefined, contentType = 'application/json'): Record<string, string> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': contentType };
  if (key === undefined) return headers;
  if (auth === 'bearer') headers['authorization'] = `Bearer ${key}`;
  if (auth === 'x-api-key') headers['x-api-key'] = key;
  if (auth === 'processing-key') {
    headers['x-processing-key'] = key;
    headers['x-processing-signature'] = processingSignature(signingSecret ?? 'none', body ?? '');
  }
  return headers;
}

/** The OpenAPI path of a Fastify URL (`:id` → `{id}`). */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, '{$1}');
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * True when `body` (parsed JSON, or text) is a refusal in `family`'s documented format for
 * `status`: RFC 9457 problem documents with a known code on Payreq's routes, each provider's own
 * shape on its dialect (docs/dialects/*.md).
 */
export function isDocumentedError(family: ErrorFamily, status: number, contentType: string, body: unknown): boolean {
  if (!isObject(body)) return false;
  // Refused by the HTTP parser before routing (docs/errors.md): the same problem document everywhere.
  if (status === 431 && family !== 'problem') return isDocumentedError('problem', status, contentType, body);
  switch (family) {
    case 'problem':
      return contentType.startsWith('application/problem+json') && body['status'] === status && (ERROR_CODES as readonly string[]).includes(body['code'] as string) && typeof body['detail'] === 'string';
    case 'pay-page':
      // docs/pay-page.md: `{error, detail}` from its handlers; what Fastify refuses before them is a problem document.
      return typeof body['error'] === 'string' || isDocumentedError('problem', status, contentType, body);
    case 'request-network':
      return typeof body['message'] === 'string' && (body['statusCode'] === status || Array.isArray(body['errors']));
    case 'pismo':
      return typeof body['error_code'] === 'string' && typeof body['error_message'] === 'string';
    case 'deltapay':
      return typeof body['detail'] === 'string' || Array.isArray(body['detail']);
    case 'centrapay':
      return body['statusCode'] === status && typeof body['error'] === 'string' && typeof body['message'] === 'string';
    case 'alphapo':
      return typeof body['error'] === 'string' && (typeof body['code'] === 'string' || typeof body['code'] === 'number');
  }
}
