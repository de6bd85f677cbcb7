/**
 * Every refusal Fastify makes before a route's handler runs answers a 4xx in the route family's
 * own error format (docs/errors.md), never a 500 and never Fastify's own shape. The table is
 * Fastify's errors module itself: each error code it defines with a 4xx status is either
 * provoked over HTTP, once per route family (the API, `/healthz`, an unknown path, the pay page,
 * each dialect), or named as not reachable over HTTP with the reason; a Fastify upgrade adding
 * a code fails here until the table says how to provoke it. Raw sockets, so that methods
 * (`QUERY`), escapes (`%zz`) and lengths go out as written.
 */
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, createApiKey } from '../../src/app/api-keys.js';
import { DIALECTS } from '../../src/dialects/index.js';
import { routeTable } from '../../src/http/route-table.js';
import { createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { type ErrorFamily, isDocumentedError } from '../hardening/routes.js';

const require = createRequire(import.meta.url);
const fastifyErrors = require('fastify/lib/errors.js') as Record<string, unknown>;

/** Fastify's error codes whose status is 4xx, read from its errors module. */
function clientErrorCodes(): string[] {
  return Object.entries(fastifyErrors)
    .filter(([code, make]) => code.startsWith('FST_ERR_') && typeof make === 'function')
    .filter(([, make]) => {
      try {
        const status = (new (make as new (...args: string[]) => { statusCode?: number })('a', 'b', 'c')).statusCode;
        return typeof status === 'number' && status >= 400 && status < 500;
      } catch {
        return false;
      }
    })
    .map(([code]) => code)
    .sort();
}

/** Where a family's requests go: a path with a parameter (`{}` marks it) and a route taking a body. */
interface Target {
  family: ErrorFamily;
  name: string;
  /** A path whose parameter is `{}`. */
  param: string;
  /** A path (and method) that takes a JSON body. */
  body: { method: string; path: string };
  /** Credential headers for a request carrying `body`. */
  headers: (body: string) => Record<string, string>;
  /** A request its validation refuses, where `body`'s route has no schema to fail. */
  invalid?: RawRequest;
}

/** One request, written as raw HTTP. */
interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Content-Length to announce, when not the body's own. */
  contentLength?: number;
}

/** How each code is provoked for a target, or why it cannot be over HTTP. */
const PROVOKE: Record<string, ((t: Target) => RawRequest) | { notOverHttp: string }> = {
  FST_ERR_BAD_URL: (t) => ({ method: 'GET', path: t.param.replace('{}', '%zz'), headers: t.headers('') }),
  FST_ERR_MAX_PARAM_LENGTH: (t) => ({ method: 'GET', path: t.param.replace('{}', 'a'.repeat(101)), headers: t.headers('') }),
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: (t) => ({ method: 'QUERY', path: t.param.replace('{}', 'x'), headers: t.headers(''), body: '{}' }),
  FST_ERR_CTP_INVALID_JSON_BODY: (t) => ({ method: t.body.method, path: t.body.path, headers: { ...t.headers('{"a":'), 'content-type': 'application/json' }, body: '{"a":' }),
  FST_ERR_CTP_EMPTY_JSON_BODY: (t) => ({ method: t.body.method, path: t.body.path, headers: { ...t.headers(''), 'content-type': 'application/json' }, body: '' }),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (t) => ({ method: t.body.method, path: t.body.path, headers: { ...t.headers('a=b'), 'content-type': 'text/x-unknown' }, body: 'a=b' }),
  FST_ERR_CTP_BODY_TOO_LARGE: (t) => {
    const body = `{"a":"${'x'.repeat(1024 * 1024 + 10)}"}`;
    return { method: t.body.method, path: t.body.path, headers: { ...t.headers(body), 'content-type': 'application/json' }, body };
  },
  FST_ERR_VALIDATION: (t) => t.invalid ?? ({ method: t.body.method, path: t.body.path, headers: { ...t.headers('{"unexpected":[1]}'), 'content-type': 'application/json' }, body: '{"unexpected":[1]}' }),
  FST_ERR_NOT_FOUND: (t) => ({ method: 'GET', path: `${t.param.replace('{}', 'x')}/nowhere/at/all`, headers: t.headers('') }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    notOverHttp: "Node's HTTP/1.1 parser hands a body over only as Content-Length bytes: fewer, and the client closing, is refused by the parser itself (400, the problem document on every route); more is read as the next request. Fastify raises it only when a preParsing hook changes the body, and Payreq has none",
  },
  FST_ERR_CTP_INSTANCE_ALREADY_STARTED: { notOverHttp: 'raised when code adds a content-type parser after start: a programming error, not a request' },
  FST_ERR_INVALID_URL: { notOverHttp: 'raised when code registers a route whose URL is not a string: a programming error, not a request' },
  FST_ERR_ROUTE_MISSING_CONTENT: { notOverHttp: 'defined in Fastify 5.12 but raised nowhere in it' },
};

/** Sends `req` on a fresh socket and reads the whole answer. */
function send(url: string, req: RawRequest): Promise<{ status: number; contentType: string; body: unknown; text: string }> {
  const { hostname, port } = new URL(url);
  const body = req.body ?? '';
  const headers = { host: `${hostname}:${port}`, connection: 'close', ...req.headers };
  const length = req.contentLength ?? (req.body === undefined ? undefined : Buffer.byteLength(body));
  const head = `${req.method} ${req.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}${length === undefined ? '' : `content-length: ${length}\r\n`}\r\n`;
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e: NodeJS.ErrnoException) => (chunks.length > 0 ? undefined : reject(e)));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [rawHead = '', ...rest] = text.split('\r\n\r\n');
      let payload = rest.join('\r\n\r\n');
      if (/transfer-encoding: chunked/i.test(rawHead)) payload = payload.replace(/(^|\r\n)[0-9a-f]+\r\n/gi, '').replace(/\r\n$/, '');
      let parsed: unknown = payload;
      try {
        parsed = JSON.parse(payload);
      } catch {
        // not JSON
      }
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(rawHead)?.[1] ?? 0), contentType: /\r\ncontent-type: ([^\r]*)/i.exec(rawHead)?.[1] ?? '', body: parsed, text: text.slice(0, 400) });
    });
    socket.on('connect', () => {
      socket.write(head);
      if (body.length > 0) socket.write(body);
    });
  });
}

let t: TestServer;
let targets: Target[];
beforeAll(async () => {
  t = await startTestServer();
  const principal = await authenticate(t.server.deps, t.adminKey);
  const signer = await createApiKey(t.server.deps, principal, { grants: [{ permission: 'admin' }], signingSecret: true });
  const payee = await createUserWithAccount(t.admin);
  const code = (await createRequest(t.admin, payee.accountId)).code as string;
  const routes = routeTable(t.server.app);
  const bearer = () => ({ authorization: `Bearer ${t.adminKey}` });
  /** A dialect's first route with a parameter (else a path under its prefix) and its first route taking a body, from the route table. */
  const dialect = (family: ErrorFamily, prefix: string, headers: Target['headers']): Target => {
    const own = routes.filter((r) => r.url.startsWith(prefix) && !r.url.includes('/.well-known/'));
    const param = own.find((r) => r.method === 'GET' && r.url.includes(':')) ?? own.find((r) => r.url.includes(':'));
    const body = own.find((r) => r.method === 'POST' || r.method === 'PUT' || r.method === 'PATCH');
    if (!body) throw new Error(`no route taking a body under ${prefix}`);
    const fill = (url: string) => url.replace(/:[A-Za-z_]+/g, 'x');
    // No route with a parameter (DeltaPay): a path under the prefix, which the family's not-found handler answers.
    const first = param?.url.indexOf(':') ?? -1;
    const withParam = param === undefined ? `${prefix}{}` : `${fill(param.url.slice(0, first))}{}${fill(param.url.slice(first).replace(/^:[A-Za-z_]+/, ''))}`;
    return { family, name: family, param: withParam, body: { method: body.method, path: fill(body.url) }, headers };
  };
  targets = [
    { family: 'problem', name: '/v1', param: '/v1/payment-requests/{}', body: { method: 'POST', path: '/v1/payment-requests' }, headers: bearer },
    { family: 'problem', name: '/healthz', param: '/healthz/{}', body: { method: 'POST', path: '/healthz' }, headers: () => ({}) },
    { family: 'problem', name: 'an unknown path', param: '/nowhere/{}', body: { method: 'POST', path: '/nowhere' }, headers: () => ({}) },
    { family: 'pay-page', name: '/pay', param: '/pay/{}', body: { method: 'POST', path: `/pay/${code}/simulate` }, headers: () => ({}), invalid: { method: 'GET', path: `/pay/${code}/transactions?wallet[a]=1`, headers: {} } },
    // Every dialect of the list, with its own credentials (a signed family's with a key that has a signing secret).
    ...DIALECTS.map(({ name, prefix, hardening: { auth } }) => dialect(name, `${prefix}/`, (body) => auth.headers(auth.signed === true ? { key: signer.secret, signingSecret: signer.signingSecret } : { key: t.adminKey }, body))),
  ];
});
afterAll(() => t.close());

describe("Fastify's client errors", () => {
  it('are each either provoked below or named as not reachable over HTTP', () => {
    expect(Object.keys(PROVOKE).sort()).toEqual(clientErrorCodes());
  });

  it('answer a 4xx in the route family format on every family, never a 500', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const [code, provoke] of Object.entries(PROVOKE)) {
      if (typeof provoke !== 'function') continue;
      for (const target of targets) {
        const req = provoke(target);
        const res = await send(t.url, req);
        sent++;
        const documented = isDocumentedError(target.family, res.status, res.contentType, res.body);
        if (res.status < 400 || res.status >= 500 || !documented) failures.push(`${code} on ${target.name} (${req.method} ${req.path.slice(0, 80)}) → ${res.status} ${res.text.slice(0, 300)}`);
      }
    }
    expect(failures, failures.join('\n')).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(9 * 9);
  });

  it('answer QUERY without Content-Type 400 with a problem document on /v1, /healthz and unknown paths', async () => {
    for (const path of ['/v1/payment-requests', '/healthz', '/nowhere', '/pay/ABCD']) {
      const res = await send(t.url, { method: 'QUERY', path, headers: { authorization: `Bearer ${t.adminKey}` }, body: '{}' });
      expect(res.status, `${path}: ${res.text}`).toBe(400);
      expect(res.body, path).toMatchObject({ status: 400, code: 'bad_request' });
    }
    const tooLong = await send(t.url, { method: 'GET', path: `/v1/payment-requests/${'a'.repeat(101)}`, headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(tooLong.status).toBe(414);
    expect(tooLong.body).toMatchObject({ status: 414, code: 'uri_too_long' });
    const badEscape = await send(t.url, { method: 'GET', path: '/v1/payment-requests/%zz', headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(badEscape.status).toBe(400);
    expect(badEscape.contentType).toMatch(/^application\/problem\+json/);
  });
});
