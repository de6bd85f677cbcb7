/**
 * Idempotency across a crash (issue 12): the server runs as a child process with crash points
 * enabled (`PAYREQ_TEST_CRASH_POINTS`), a request is killed with SIGKILL between its effect and
 * its answer, the server is restarted, and the retry with the same `Idempotency-Key` (or, on
 * Centrapay's dialect, the same `idempotencyKey` in the body) makes exactly one effect and
 * answers as a clean run does.
 * - killed before the commit: nothing was committed; the claim lapses after the lease (1 s here)
 *   and the retry runs the request afresh;
 * - killed after the commit: the retry replays the stored answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/app/api-keys.js';
import { freePort, type PayreqProcess, spawnPayreq, waitForHealthy } from '../../scripts/lib/process.js';
import { type ApiResponse, Client } from '../support/client.js';
import { testDatabase } from '../support/database.js';
import { recordFigure } from './figures.js';

const database = testDatabase();
const key = generateSecret('test');
let port: number;
let url: string;
let env: Record<string, string>;
let server: PayreqProcess;
let api: Client;

beforeAll(async () => {
  port = await freePort();
  url = `http://127.0.0.1:${port}`;
  env = { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: key, PAYREQ_TEST_CRASH_POINTS: 'true', PAYREQ_IDEMPOTENCY_LEASE_SECONDS: '1' };
  api = new Client(url, key);
  server = spawnPayreq(['serve'], env);
  await waitForHealthy(url, server, 60_000);
}, 90_000);
afterAll(async () => {
  server.child.kill('SIGKILL');
  await server.exited;
  await database.drop();
});

let crashes = 0;
let duplicates = 0;

/** Sends a request (`send` adds the crash header to its own) that kills the server at `point`, then restarts the server. */
async function crashAt(point: 'before-commit' | 'after-commit', send: (crash: Record<string, string>) => Promise<unknown>): Promise<void> {
  await expect(send({ 'payreq-test-crash': point })).rejects.toThrow();
  crashes++;
  await server.exited;
  server = spawnPayreq(['serve'], env);
  await waitForHealthy(url, server, 60_000);
}

/** Retries until the answer is not "in progress" (409 with Retry-After), as a client should. */
async function retryUntilAnswered(send: () => Promise<ApiResponse>): Promise<{ res: ApiResponse; inProgress: number }> {
  for (let inProgress = 0; ; inProgress++) {
    const res = await send();
    if (res.status !== 409 || res.body?.code !== 'idempotency_key_in_use') return { res, inProgress };
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The fields of a payment request that a clean run and a retried run share (ids, numbers and times differ). */
function shape(pr: Record<string, unknown>): Record<string, unknown> {
  const { id: _id, number: _n, code: _c, createdAt: _ca, updatedAt: _ua, expiresAt: _ea, paymentLink: _pl, externalId: _x, paymentReference: _pr, paymentOptions, ...rest } = pr;
  return { ...rest, paymentOptions: (paymentOptions as Record<string, unknown>[]).map(({ paymentReference: _r, ...o }) => o) };
}

describe('Idempotency-Key across a SIGKILL', () => {
  let payee: string;
  let payer: string;
  beforeAll(async () => {
    const shop = await api.post('/v1/parties', { type: 'legal_entity', name: 'Crash shop' });
    payee = (await api.post('/v1/accounts', { partyId: shop.body.id, currency: 'USD' })).body.id;
    const user = await api.post('/v1/parties', { type: 'user', username: 'crash-payer' });
    payer = (await api.post('/v1/accounts', { partyId: user.body.id, currency: 'USD' })).body.id;
    await api.post(`/v1/test-helpers/accounts/${payer}/fund`, { amount: '100.00' });
  });

  it('killed before the commit: nothing is stored, the claim lapses and the retry creates exactly one request', { timeout: 120_000 }, async () => {
    const body = { amount: '12.50', currency: 'USD', payee: { accountId: payee }, payer: { accountId: payer }, expiresIn: 3600, externalId: 'crash-before-1', description: 'crash' };
    await crashAt('before-commit', (crash) => api.post('/v1/payment-requests', body, { 'idempotency-key': 'create-before', ...crash }));
    expect((await api.get('/v1/payment-requests?externalId=crash-before-1')).body.data).toHaveLength(0);
    const { res, inProgress } = await retryUntilAnswered(() => api.post('/v1/payment-requests', body, { 'idempotency-key': 'create-before' }));
    expect(res.status).toBe(201);
    expect(res.headers.get('idempotent-replayed')).toBeNull();
    expect(inProgress).toBeGreaterThanOrEqual(0);
    const listed = (await api.get('/v1/payment-requests?externalId=crash-before-1')).body.data;
    if (listed.length !== 1) duplicates++;
    expect(listed).toHaveLength(1);
    // The same answer as a clean run of the same request.
    const clean = await api.post('/v1/payment-requests', { ...body, externalId: 'crash-clean-1' }, { 'idempotency-key': 'create-clean' });
    expect(clean.status).toBe(201);
    expect(shape(res.body)).toEqual(shape(clean.body));
    // And a further retry replays it.
    const replay = await api.post('/v1/payment-requests', body, { 'idempotency-key': 'create-before' });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(res.body);
  });

  it('killed after the commit: the retry replays the stored answer and the payer is debited once', { timeout: 120_000 }, async () => {
    const made = await api.post('/v1/payment-requests', { amount: '7.25', currency: 'USD', payee: { accountId: payee }, payer: { accountId: payer }, expiresIn: 3600 });
    const before = (await api.get(`/v1/accounts/${payer}`)).body.balance as string;
    const path = `/v1/payment-requests/${made.body.id as string}/approve`;
    await crashAt('after-commit', (crash) => api.post(path, { accountId: payer }, { 'idempotency-key': 'approve-after', ...crash }));
    const { res, inProgress } = await retryUntilAnswered(() => api.post(path, { accountId: payer }, { 'idempotency-key': 'approve-after' }));
    expect(inProgress).toBe(0);
    expect(res.status).toBe(200);
    expect(res.headers.get('idempotent-replayed')).toBe('true');
    expect(res.body).toMatchObject({ id: made.body.id, status: 'paid' });
    const now = await api.get(`/v1/payment-requests/${made.body.id as string}`);
    expect({ ...res.body, updatedAt: null }).toEqual({ ...now.body, updatedAt: null });
    const after = (await api.get(`/v1/accounts/${payer}`)).body.balance as string;
    expect(Math.round((Number(before) - Number(after)) * 100)).toBe(725);
    const events = (await api.get(`/v1/payment-requests/${made.body.id as string}/events`)).body.data as { type: string }[];
    const paid = events.filter((e) => e.type === 'payment_request.paid');
    if (paid.length !== 1) duplicates++;
    expect(paid).toHaveLength(1);
  });

  it('killed before the commit of an approval: the retry pays once', { timeout: 120_000 }, async () => {
    const made = await api.post('/v1/payment-requests', { amount: '3.00', currency: 'USD', payee: { accountId: payee }, payer: { accountId: payer }, expiresIn: 3600 });
    const before = (await api.get(`/v1/accounts/${payer}`)).body.balance as string;
    const path = `/v1/payment-requests/${made.body.id as string}/approve`;
    await crashAt('before-commit', (crash) => api.post(path, { accountId: payer }, { 'idempotency-key': 'approve-before', ...crash }));
    expect((await api.get(`/v1/payment-requests/${made.body.id as string}`)).body.status).toBe('pending');
    const { res } = await retryUntilAnswered(() => api.post(path, { accountId: payer }, { 'idempotency-key': 'approve-before' }));
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('paid');
    const after = (await api.get(`/v1/accounts/${payer}`)).body.balance as string;
    expect(Math.round((Number(before) - Number(after)) * 100)).toBe(300);
  });

  it("Centrapay's idempotencyKey: killed after the commit, the retry answers the same payment", { timeout: 120_000 }, async () => {
    const cafe = await api.post('/v1/parties', { type: 'legal_entity', name: 'Crash café' });
    const cafeAccount = (await api.post('/v1/accounts', { partyId: cafe.body.id, currency: 'NZD' })).body.id;
    const patron = await api.post('/v1/parties', { type: 'user', username: 'crash-patron' });
    const patronAccount = (await api.post('/v1/accounts', { partyId: patron.body.id, currency: 'NZD' })).body.id;
    await api.post(`/v1/test-helpers/accounts/${patronAccount}/fund`, { amount: '50' });
    const config = await api.post('/v1/merchant-configs', { name: 'Crash till', payeeAccountId: cafeAccount });
    const code = await api.post(`/v1/parties/${patron.body.id as string}/patron-codes`);
    const centrapay = (path: string, body: unknown, headers: Record<string, string> = {}) => api.request('POST', `/compat/centrapay${path}`, body, { 'x-api-key': key, ...headers });
    const made = await centrapay('/api/payment-requests', { merchantConfigId: config.body.id, value: { currency: 'NZD', amount: 1000 }, patronCodeId: code.body.id });
    expect(made.status).toBe(200);
    const pay = { assetType: 'centrapay.nzd.test', idempotencyKey: 'crash-pay-1' };
    const path = `/api/payment-requests/${made.body.id as string}/pay`;
    await crashAt('after-commit', (crash) => centrapay(path, pay, crash));
    const retried = await centrapay(path, pay);
    expect(retried.status).toBe(200);
    const again = await centrapay(path, pay);
    expect(again.body).toEqual(retried.body);
    expect((await api.get(`/v1/accounts/${patronAccount as string}`)).body.balance).toBe('40.00');
  });
});

afterAll(() => recordFigure('idempotency crash', `${crashes} crashes / ${duplicates} duplicate effects`));
