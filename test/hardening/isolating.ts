/**
 * The isolation machinery of test/hardening/isolation.test.ts, for any server and any planned
 * routes (a test-only dialect's too: test/dialects/sample-dialect.test.ts): each route is called
 * by each caller of a matrix (another org, another mode, a key scoped elsewhere or without the
 * permission, no key, a revoked key) with schema-valid input naming one org's resources; every
 * answer must be a documented refusal (401, 403 or 404, or a validation refusal), never a 5xx,
 * and carry none of that org's data.
 */
import fc from 'fast-check';
import { type Pools, type Schema, valueFor } from './inputs.js';
import { credentialHeaders, isDocumentedError, openApiPath, type PlannedRoute } from './routes.js';

/** Who calls, in the matrix. */
export type CallerKind = 'other org' | 'other mode' | 'scoped elsewhere' | 'without permission' | 'no key' | 'revoked key';
/** A caller: its key (none for `no key`), and the key's signing secret for signed families. */
export interface Caller { kind: CallerKind; key: string | undefined; signingSecret?: string }

/** What the isolation check reads of the OpenAPI document. */
export interface IsolationDoc {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema: Schema }> }; parameters?: { in: string; name: string; required?: boolean; schema: Schema }[] }>>;
}

/** Counts over a run: route × caller pairs, leaks, and refusals of a resource of another tenant or scope. */
export interface IsolationFigures { pairs: number; leaks: number; tenantChecks: number }

/** The server, the matrix, and the resources of the org the callers must not reach. */
export interface IsolationInput {
  baseUrl: string;
  doc: IsolationDoc;
  /** Ids and strings the body generator mixes in. */
  pools: Pools;
  callers: readonly Caller[];
  /** The caller of the matrix to use on `route` (a route may need another key for the same kind). */
  callerFor(listed: Caller, route: PlannedRoute): Caller;
  /** The value of one of the org's resources for path parameter `name` of `route`. */
  targetOf(route: PlannedRoute, name: string): string;
  /** What of the org no other org's caller may see; what a caller of the same org scoped elsewhere may not. */
  markersOfOrg: readonly string[];
  markersOfParty: readonly string[];
  /** Counted into as the run goes. */
  figures: IsolationFigures;
}

/** Calls each of `routes` with each caller; resolves with the failures, each with where it happened (empty: none). */
export async function checkIsolation(input: IsolationInput, routes: readonly PlannedRoute[]): Promise<string[]> {
  const failures: string[] = [];
  for (const route of routes) {
    const operation = input.doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
    const bodySchema = operation?.requestBody?.content?.['application/json']?.schema;
    // Only the query parameters a route requires: optional ones (a cursor, say) would be refused as invalid before the tenant check.
    const querySchema = (operation?.parameters ?? []).filter((p) => p.in === 'query' && p.required === true);
    const path = route.params.reduce((url, p) => url.replace(`:${p.name}`, encodeURIComponent(input.targetOf(route, p.name))), route.url);
    // Schema-valid input naming A's resources, so that what answers is the tenant check, not validation.
    const [body] = route.method === 'GET' || route.method === 'DELETE' ? [undefined] : fc.sample(valueFor(bodySchema ?? { type: 'object', properties: {} }, input.pools), { seed: 42, numRuns: 1 });
    const [query] = fc.sample(fc.record(Object.fromEntries(querySchema.map((p) => [p.name, valueFor(p.schema, input.pools)])), { requiredKeys: querySchema.map((p) => p.name) }), { seed: 42, numRuns: 1 });
    const search = new URLSearchParams(Object.entries(query ?? {}).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
    const text = body === undefined ? undefined : JSON.stringify(body);
    for (const listed of input.callers) {
      const caller = input.callerFor(listed, route);
      input.figures.pairs++;
      const headers = credentialHeaders(route.auth, caller.key, caller.signingSecret, text);
      const res = await fetch(`${input.baseUrl}${path}${search === '' ? '' : `?${search}`}`, { method: route.method, headers, body: text, signal: AbortSignal.timeout(10_000) });
      const answer = await res.text();
      const where = `${caller.kind} → ${route.method} ${path} → ${res.status} ${answer.slice(0, 200)}`;
      const markers = caller.kind === 'scoped elsewhere' || caller.kind === 'without permission' ? input.markersOfParty : input.markersOfOrg;
      // What the caller sent itself (an id in the path, say) may come back in the refusal; anything else of A's may not.
      const sent = `${path}?${search} ${text ?? ''}`;
      const leaked = markers.filter((m) => answer.includes(m) && !sent.includes(m));
      if (leaked.length > 0) {
        input.figures.leaks++;
        failures.push(`leaks ${leaked.join(', ')}: ${where}`);
      }
      if (res.status >= 500) failures.push(`5xx: ${where}`);
      const anonymous = caller.kind === 'no key' || caller.kind === 'revoked key';
      // A path naming one of A's resources (Centrapay's external-ref path is a search, answered with an empty list).
      const names = route.params.some((p) => p.name !== 'externalRef');
      if ((anonymous || names) && res.status < 400) failures.push(`expected a refusal: ${where}`);
      if (anonymous && ![401, 403].includes(res.status)) failures.push(`expected 401 (or the dialect's 403): ${where}`);
      // Input refused as invalid (400/422) reveals nothing either; what passes validation meets the tenant check.
      if (names && !anonymous && ![400, 403, 404, 422].includes(res.status)) failures.push(`expected 404 or 403 (or a validation refusal): ${where}`);
      if (names && !anonymous && [403, 404].includes(res.status)) input.figures.tenantChecks++;
      if (res.status >= 400) {
        let parsed: unknown = answer;
        try {
          parsed = JSON.parse(answer);
        } catch {
          // not JSON
        }
        if (!isDocumentedError(route.errors, res.status, res.headers.get('content-type') ?? '', parsed)) failures.push(`undocumented refusal: ${where}`);
      }
    }
  }
  return failures;
}
