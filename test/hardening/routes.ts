/**
 * What the hardening suites know about a route, read from the app's route table
 * (`src/http/route-table.ts`), its OpenAPI document and the dialect list (src/dialects/index.ts
 * `DIALECTS`, each dialect's `hardening`): how a caller authenticates, which error format a
 * refusal must have, and what goes in each path parameter. {@link planRoutes} fails for a route
 * it cannot place, so a route added without the generators reaching it fails the suites instead
 * of going untested (test/hardening/route-plan.test.ts shows it). A dialect added to the list is
 * covered with no change here.
 */
import { DIALECTS } from '../../src/dialects/index.js';
import { ERROR_CODES } from '../../src/domain/errors.js';
import type { Credentials, Dialect } from '../../src/http/dialect.js';
import type { RouteEntry } from '../../src/http/route-table.js';

/** How a route's caller authenticates: `family` names it in reports (`bearer`, `public`, a dialect's own). */
export interface RouteAuth {
  family: string;
  /** True when requests are signed with the key's signing secret: the suites use a key that has one. */
  signed: boolean;
  /** The headers carrying the credentials for a request with `body` (none for a public route). */
  headers(credentials: Credentials, body: string | undefined): Record<string, string>;
}

/** A route that needs no credentials. */
export const PUBLIC: RouteAuth = { family: 'public', signed: false, headers: () => ({}) };
/** `/v1`'s bearer keys. */
const BEARER: RouteAuth = { family: 'bearer', signed: false, headers: ({ key }) => ({ authorization: `Bearer ${key}` }) };

/** Whose error format a route answers in: `family` names it in reports. */
export interface ErrorFormat {
  family: string;
  /** True when `body` is a refusal in this format for `status` (the 431 of the HTTP parser aside: see {@link isDocumentedError}). */
  isDocumented(status: number, contentType: string, body: unknown): boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** RFC 9457 problem documents with a known code (docs/errors.md): `/v1` and the public root routes. */
export const PROBLEM: ErrorFormat = {
  family: 'problem',
  isDocumented: (status, contentType, body) => isObject(body) && contentType.startsWith('application/problem+json') && body['status'] === status && (ERROR_CODES as readonly string[]).includes(body['code'] as string) && typeof body['detail'] === 'string',
};
/** docs/pay-page.md: `{error, detail}` from its handlers; what Fastify refuses before them is a problem document. */
const PAY_PAGE: ErrorFormat = {
  family: 'pay-page',
  isDocumented: (status, contentType, body) => (isObject(body) && typeof body['error'] === 'string') || PROBLEM.isDocumented(status, contentType, body),
};

/** An error format by its family name: `problem`, `pay-page`, or a dialect's name (of `DIALECTS`). */
export type ErrorFamily = string;

/**
 * The error format named `family` (`problem`, `pay-page`, or the name of one of `dialects`).
 * @throws Error for an unknown name.
 */
export function errorFormatNamed(family: ErrorFamily, dialects: readonly Dialect[] = DIALECTS): ErrorFormat {
  if (family === PROBLEM.family) return PROBLEM;
  if (family === PAY_PAGE.family) return PAY_PAGE;
  const dialect = dialects.find((d) => d.name === family);
  if (dialect === undefined) throw new Error(`no error format is named ${family}`);
  return errorsOf(dialect);
}

/** How a caller authenticates on `dialect`'s routes. */
export function authOf(dialect: Dialect): RouteAuth {
  const auth = dialect.hardening.auth;
  return { family: auth.family, signed: auth.signed === true, headers: (credentials, body) => auth.headers(credentials, body) };
}

/** `dialect`'s documented error format (docs/dialects/<name>.md). */
export function errorsOf(dialect: Dialect): ErrorFormat {
  return { family: dialect.name, isDocumented: (status, contentType, body) => dialect.hardening.isDocumentedError(status, contentType, body) };
}

/** What fills a path parameter. */
export type ParamKind = 'id' | 'code' | 'payment-reference' | 'request-id' | 'short-code' | 'external-ref';

/** A route the suites can reach. */
export interface PlannedRoute extends RouteEntry {
  auth: RouteAuth;
  errors: ErrorFormat;
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

interface Family {
  prefix: string;
  auth: RouteAuth;
  errors: ErrorFormat;
}

/** The route families: `/v1`, each dialect's (its public paths first), the pay page. */
function familiesOf(dialects: readonly Dialect[]): Family[] {
  return [
    { prefix: '/v1/', auth: BEARER, errors: PROBLEM },
    ...dialects.flatMap((d) => [
      ...(d.hardening.publicPaths ?? []).map((path) => ({ prefix: `${d.prefix}${path}`, auth: PUBLIC, errors: errorsOf(d) })),
      { prefix: `${d.prefix}/`, auth: authOf(d), errors: errorsOf(d) },
    ]),
    { prefix: '/pay/', auth: PUBLIC, errors: PAY_PAGE },
  ];
}

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
 * Places every JSON route of the table, the routes of `dialects` (default: the server's
 * `DIALECTS`) by their prefixes.
 * @throws Error naming each route the generators cannot reach: an unknown URL prefix (no auth or
 *   error format known) or a path parameter they cannot fill.
 */
export function planRoutes(routes: readonly RouteEntry[], dialects: readonly Dialect[] = DIALECTS): PlannedRoute[] {
  const families = familiesOf(dialects);
  const planned: PlannedRoute[] = [];
  const unreachable: string[] = [];
  for (const route of routes) {
    if (isNotJson(route)) continue;
    const family = PUBLIC_ROOT.has(route.url) ? { auth: PUBLIC, errors: PROBLEM } : families.find((f) => route.url.startsWith(f.prefix));
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
 * The headers that carry `key` the way `auth` says (a signed family's also sign `body` with
 * `signingSecret`; without one the signature is wrong), plus the body's media type.
 */
export function credentialHeaders(auth: RouteAuth, key: string | undefined, signingSecret: string | undefined, body: string | undefined, contentType = 'application/json'): Record<string, string> {
  const headers: Record<string, string> = body === undefined ? {} : { 'content-type': contentType };
  if (key === undefined) return headers;
  return { ...headers, ...auth.headers({ key, signingSecret }, body) };
}

/** The OpenAPI path of a Fastify URL (`:id` → `{id}`). */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z_]+)/g, '{$1}');
}

/**
 * True when `body` (parsed JSON, or text) is a refusal in `format` for `status`: RFC 9457
 * problem documents with a known code on Payreq's routes, each provider's own shape on its
 * dialect (docs/dialects/*.md); what the HTTP parser refuses before routing (431,
 * docs/errors.md) is the same problem document everywhere.
 */
export function isDocumentedError(format: ErrorFormat | ErrorFamily, status: number, contentType: string, body: unknown): boolean {
  if (typeof format === 'string') return isDocumentedError(errorFormatNamed(format), status, contentType, body);
  if (!isObject(body)) return false;
  if (status === 431 && format !== PROBLEM) return PROBLEM.isDocumented(status, contentType, body);
  return format.isDocumented(status, contentType, body);
}
