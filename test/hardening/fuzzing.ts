/**
 * The fuzzing machinery of test/hardening/fuzz.test.ts, for any server and any planned routes (a
 * test-only dialect's too: test/dialects/sample-dialect.test.ts): generated requests per route
 * over real HTTP, each answered with a 2xx or a documented 4xx in the route's own error format,
 * never a 5xx or a hang, and a refused write storing nothing.
 */
import fc from 'fast-check';
import { sql } from 'kysely';
import { expect } from 'vitest';
import type { Store } from '../../src/db/store.js';
import { bodyTextFor, type Pools, queryFor, type Schema } from './inputs.js';
import { isDocumentedError, openApiPath, type PlannedRoute } from './routes.js';

const TIMEOUT_MS = 10_000;

/** What the fuzzer reads of the OpenAPI document: each operation's body schema and parameters. */
export interface FuzzDoc {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema: Schema }> }; parameters?: { in: string; name: string; schema: Schema }[] }>>;
}

/** Counts over a run: cases sent, 5xx answers, refusals that stored something, undocumented refusals. */
export interface FuzzTotals {
  cases: number;
  fiveHundreds: number;
  storedOnReject: number;
  undocumented: number;
}

/** A server to fuzz and what the generators draw from. */
export interface FuzzTarget {
  /** The server's base URL. */
  baseUrl: string;
  /** Its `/openapi.json`. */
  doc: FuzzDoc;
  /** Values for each path parameter kind (`id`, `code`, …). */
  params: Record<string, string[]>;
  /** Ids and strings the body and query generators mix in. */
  pools: Pools;
  /** The headers (credentials and media type) of a request to `route`. */
  headersFor(route: PlannedRoute, body: string | undefined, contentType: string): Record<string, string>;
  /** What a refused request must leave as it was (see {@link fingerprint}). */
  fingerprint(): Promise<string>;
  /** Generated requests per route, and the seed. */
  cases: number;
  seed: number;
  /** Counted into as the run goes. */
  totals: FuzzTotals;
}

/** Row counts of every table and the latest update times: what a refused request must leave as it was. */
export async function fingerprint(store: Store): Promise<string> {
  const tables = store.engine === 'sqlite'
    ? (await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%' order by name`.execute(store.db)).rows.map((r) => r.name)
    : (await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_name not like 'kysely_%' order by table_name`.execute(store.db)).rows.map((r) => r.name);
  const counts = tables.map((name) => sql`(select count(*) from ${sql.table(name)})`);
  const times = ['payment_requests', 'webhook_endpoints', 'accounts'].map((name) => sql`(select coalesce(max(updated_at), 0) from ${sql.table(name)})`);
  const row = (await sql<Record<string, unknown>>`select ${sql.join([...counts, ...times], sql`, `)}`.execute(store.db)).rows[0];
  return JSON.stringify(Object.values(row ?? {}).map(String));
}

/** Sends `target.cases` generated requests to each of `routes`, failing the test at the first answer out of bounds. */
export async function fuzzRoutes(target: FuzzTarget, routes: readonly PlannedRoute[]): Promise<void> {
  const { doc, params, pools, totals } = target;
  let before = await target.fingerprint();
  for (const route of routes) {
    const operation = doc.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
    const bodySchema = operation?.requestBody?.content?.['application/json']?.schema;
    const query = (operation?.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema }));
    const hasBody = route.method !== 'GET' && route.method !== 'DELETE';
    const path = fc.tuple(...route.params.map((p) => fc.constantFrom(...(params[p.kind] as string[])))).map((values) => route.params.reduce((url, p, i) => url.replace(`:${p.name}`, encodeURIComponent(values[i] as string)), route.url));
    const arbitrary = fc.record({
      path: route.params.length === 0 ? fc.constant(route.url) : path,
      query: fc.oneof({ weight: 3, arbitrary: fc.constant('') }, { weight: 2, arbitrary: queryFor(query, pools) }),
      body: hasBody ? bodyTextFor(bodySchema, pools).map((b): string | undefined => b) : fc.constant(undefined),
      contentType: fc.constantFrom('application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded'),
    });
    await fc.assert(
      fc.asyncProperty(arbitrary, async (c) => {
        totals.cases++;
        const url = `${target.baseUrl}${c.path}${c.query === '' ? '' : `?${c.query}`}`;
        const res = await fetch(url, { method: route.method, headers: target.headersFor(route, c.body, c.contentType), body: c.body, signal: AbortSignal.timeout(TIMEOUT_MS) });
        const text = await res.text();
        const where = `${route.method} ${c.path}?${c.query.slice(0, 200)} body ${String(c.body).slice(0, 300)} → ${res.status} ${text.slice(0, 300)}`;
        if (res.status >= 500) totals.fiveHundreds++;
        expect(res.status, where).toBeLessThan(500);
        expect(res.status, where).toBeGreaterThanOrEqual(200);
        expect(res.status >= 300 && res.status < 400, `a redirect: ${where}`).toBe(false);
        if (res.status >= 400) {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // not JSON: not a documented refusal
          }
          const documented = isDocumentedError(route.errors, res.status, res.headers.get('content-type') ?? '', parsed);
          if (!documented) totals.undocumented++;
          expect(documented, `undocumented refusal: ${where}`).toBe(true);
          if (route.method !== 'GET') {
            const after = await target.fingerprint();
            if (after !== before) totals.storedOnReject++;
            expect(after, `a refused request stored something: ${where}`).toBe(before);
          }
        } else if (route.method !== 'GET') {
          before = await target.fingerprint();
        }
      }),
      { numRuns: target.cases, seed: target.seed, endOnFailure: true },
    );
  }
}
