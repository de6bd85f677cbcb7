/**
 * Per-key rate limits (issue 12): past `PAYREQ_RATE_LIMIT` requests in the window a key gets
 * 429 with `Retry-After`, in each route family's own error format, while other keys go on; with
 * `PAYREQ_REDIS_URL` two server processes share one count (the real Redis on 6379).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticate, createApiKey } from '../../src/app/api-keys.js';
import { DIALECTS } from '../../src/dialects/index.js';
import { Client } from '../support/client.js';
import { testEngine } from '../support/database.js';
import { type Cluster, startCluster } from '../scale/cluster.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { recordFigure } from './figures.js';
import { isDocumentedError } from './routes.js';

const REDIS_URL = process.env['PAYREQ_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
let t: TestServer;
let refusedWithRetryAfter = 0;
beforeAll(async () => {
  t = await startTestServer({ rateLimit: { max: 10, windowSeconds: 60 } });
});
afterAll(async () => {
  recordFigure('rate limit', `${refusedWithRetryAfter} 429s, all with Retry-After`);
  await t.close();
});

/** A new admin key, made without an HTTP call (the admin key's own calls count against its limit). */
async function key(): Promise<string> {
  const principal = await authenticate(t.server.deps, t.adminKey);
  return (await createApiKey(t.server.deps, principal, { grants: [{ permission: 'admin' }] })).secret;
}

/** A new admin key with a signing secret (AlphaPo's), made without an HTTP call. */
async function signedKey(): Promise<{ secret: string; signingSecret?: string }> {
  const principal = await authenticate(t.server.deps, t.adminKey);
  return createApiKey(t.server.deps, principal, { grants: [{ permission: 'admin' }], signingSecret: true });
}

/** Sends with only the given headers (no bearer key of the test's own). */
const bare = () => new Client(t.url, undefined);

function count429(responses: { status: number; headers: Headers }[]): number {
  const refused = responses.filter((r) => r.status === 429);
  for (const r of refused) expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  refusedWithRetryAfter += refused.length;
  return refused.length;
}

describe('per-key rate limits', () => {
  it('refuses a key past its limit with 429 and Retry-After, and leaves other keys alone', async () => {
    const busy = new Client(t.url, await key());
    const responses = [];
    for (let i = 0; i < 15; i++) responses.push(await busy.get('/v1/payment-requests'));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    expect(count429(responses)).toBe(5);
    const last = responses[14] as { status: number; body: Record<string, unknown>; headers: Headers };
    expect(last.body).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(isDocumentedError('problem', 429, last.headers.get('content-type') ?? '', last.body)).toBe(true);
    expect((await new Client(t.url, await key()).get('/v1/payment-requests')).status).toBe(200);
  });

  it("answers in each dialect's own format", async () => {
    // Each dialect's cheap read (`hardening.read`); a signed family's requests are signed: a wrong
    // signature is a failed authentication, not a call of the key's.
    const cases = DIALECTS.map((d) => {
      const { method, path } = d.hardening.read;
      const body = method === 'POST' ? '{}' : undefined;
      return { family: d.name, send: (k: string, secret?: string) => bare().request(method, `${d.prefix}${path}`, body, d.hardening.auth.headers({ key: k, signingSecret: secret }, body)) };
    });
    for (const c of cases) {
      const { secret: k, signingSecret } = await signedKey();
      const responses = [];
      for (let i = 0; i < 12; i++) responses.push(await c.send(k, signingSecret));
      expect(count429(responses), c.family).toBe(2);
      const refused = responses.find((r) => r.status === 429) as { body: unknown; headers: Headers };
      expect(isDocumentedError(c.family, 429, refused.headers.get('content-type') ?? '', refused.body), `${c.family}: ${JSON.stringify(refused.body)}`).toBe(true);
    }
  });
});

// Several processes share a database on PostgreSQL only: SQLite is one process's database, and a
// second server on its file is refused (docs/deployment.md, "One process per SQLite file").
if (testEngine() === 'postgres') describe('shared through Redis', () => {
  let cluster: Cluster;
  afterAll(() => cluster.close());

  it('counts one key across two processes', { timeout: 120_000 }, async () => {
    cluster = await startCluster(2, { PAYREQ_RATE_LIMIT: '20', PAYREQ_REDIS_URL: REDIS_URL }, testEngine());
    const admin = cluster.adminKey;
    const urls = cluster.nodes.map((n) => n.url);
    // A fresh key, so that no earlier run's count in Redis applies.
    const secret = (await new Client(urls[0] as string, admin).post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read' }] })).body.secret as string;
    const responses = [];
    for (let i = 0; i < 15; i++) for (const url of urls) responses.push(await new Client(url, secret).get('/v1/payment-requests'));
    expect(responses.filter((r) => r.status === 200)).toHaveLength(20);
    expect(count429(responses)).toBe(10);
  });
});
