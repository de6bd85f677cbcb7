/**
 * Idempotency across a crash for requests whose effect is one write, some of which show a secret
 * once (creating a webhook endpoint, rotating its secret): killed between the effect and the
 * stored answer (`before-commit`), nothing may remain, so that the retry makes the one effect the
 * client sees. A write that committed on its own, outside the request's held transaction, would
 * leave an endpoint (or a rotation) whose secret nobody was ever shown, and the retry would make a
 * second one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../src/app/api-keys.js';
import { freePort, type PayreqProcess, spawnPayreq, waitForHealthy } from '../scripts/lib/process.js';
import { type ApiResponse, Client } from './support/client.js';
import { testDatabase } from './support/database.js';

const database = testDatabase();
const key = generateSecret('test');
let url: string;
let env: Record<string, string>;
let server: PayreqProcess;
let api: Client;

beforeAll(async () => {
  const port = await freePort();
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

/** Sends a request that kills the server before its commit, then restarts the server. */
async function crashBeforeCommit(send: (crash: Record<string, string>) => Promise<unknown>): Promise<void> {
  await expect(send({ 'payreq-test-crash': 'before-commit' })).rejects.toThrow();
  await server.exited;
  server = spawnPayreq(['serve'], env);
  await waitForHealthy(url, server, 60_000);
}

/** Retries until the answer is not "in progress" (the killed attempt's claim lapses after 1 s). */
async function retryUntilAnswered(send: () => Promise<ApiResponse>): Promise<ApiResponse> {
  for (;;) {
    const res = await send();
    if (res.status !== 409 || res.body?.code !== 'idempotency_key_in_use') return res;
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('single-write requests killed before their commit', () => {
  it('leave no webhook endpoint and no rotation behind: the retry makes the one the client is shown', { timeout: 180_000 }, async () => {
    const body = { url: 'http://127.0.0.1:9/crash', description: 'crash-create' };
    await crashBeforeCommit((crash) => api.post('/v1/webhook-endpoints', body, { 'idempotency-key': 'endpoint-before', ...crash }));
    const mine = async () => ((await api.get('/v1/webhook-endpoints')).body.data as { id: string; description: string | null; updatedAt: string }[]).filter((e) => e.description === 'crash-create');
    expect(await mine()).toHaveLength(0);
    const created = await retryUntilAnswered(() => api.post('/v1/webhook-endpoints', body, { 'idempotency-key': 'endpoint-before' }));
    expect(created.status).toBe(201);
    expect(await mine()).toHaveLength(1);

    const id = created.body.id as string;
    const before = (await api.get(`/v1/webhook-endpoints/${id}`)).body.updatedAt as string;
    await new Promise((r) => setTimeout(r, 5));
    await crashBeforeCommit((crash) => api.post(`/v1/webhook-endpoints/${id}/rotate-secret`, undefined, { 'idempotency-key': 'rotate-before', ...crash }));
    // The killed rotation did not happen: the secret the client holds is still the current one.
    expect((await api.get(`/v1/webhook-endpoints/${id}`)).body.updatedAt).toBe(before);
    const rotated = await retryUntilAnswered(() => api.post(`/v1/webhook-endpoints/${id}/rotate-secret`, undefined, { 'idempotency-key': 'rotate-before' }));
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(created.body.secret);

    const party = await api.post('/v1/parties', { type: 'legal_entity', name: 'Crash shop' });
    const account = await api.post('/v1/accounts', { partyId: party.body.id, currency: 'NZD' });
    const config = { name: 'crash till', payeeAccountId: account.body.id };
    await crashBeforeCommit((crash) => api.post('/v1/merchant-configs', config, { 'idempotency-key': 'config-before', ...crash }));
    const configs = async () => ((await api.get('/v1/merchant-configs')).body.data as { name: string }[]).filter((c) => c.name === 'crash till');
    expect(await configs()).toHaveLength(0);
    expect((await retryUntilAnswered(() => api.post('/v1/merchant-configs', config, { 'idempotency-key': 'config-before' }))).status).toBe(201);
    expect(await configs()).toHaveLength(1);
  });
});
