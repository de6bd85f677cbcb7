/** Authentication, orgs and modes: a key sees only its own org and mode; test-only helpers refuse live mode. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, generateSecret, hashSecret } from '../../src/app/api-keys.js';
import { insertApiKey, insertOrg } from '../../src/db/api-key.repository.js';
import { newId } from '../../src/domain/ids.js';
import { Client } from '../support/client.js';
import { createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let live: Client;
let otherOrg: Client;
beforeAll(async () => {
  t = await startTestServer();
  const liveSecret = generateSecret('live');
  await bootstrap(t.server.deps, liveSecret);
  live = t.client(liveSecret);
  const orgId = newId();
  const otherSecret = generateSecret('test');
  await insertOrg(t.server.deps.store, { id: orgId, name: 'other', createdAt: Date.now() });
  await insertApiKey(t.server.deps.store, { id: newId(), orgId, mode: 'test', name: 'admin', prefix: otherSecret.slice(0, 14), grants: [{ permission: 'admin' }], createdBy: null, createdAt: Date.now(), revokedAt: null, expiresAt: null, lastUsedAt: null, hasSigningSecret: false }, hashSecret(otherSecret));
  otherOrg = t.client(otherSecret);
});
afterAll(() => t.close());

describe('authentication', () => {
  it('answers 401 without a key, with a malformed key and with an unknown key', async () => {
    for (const client of [new Client(t.url, undefined), t.client('Bearer-nope'), t.client(generateSecret('test'))]) {
      const res = await client.get('/v1/payment-requests');
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('unauthenticated');
    }
  });

  it('stores only a hash of each secret', async () => {
    const rows = await t.server.deps.store.db.selectFrom('api_keys').select(['secret_hash', 'prefix']).execute();
    for (const row of rows) {
      expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.secret_hash).not.toContain(t.adminKey);
    }
    expect(rows.map((r) => r.secret_hash)).toContain(hashSecret(t.adminKey));
  });
});

describe('isolation', () => {
  it('hides test-mode data from live keys and other orgs, answering 404', async () => {
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId);
    for (const client of [live, otherOrg]) {
      expect((await client.get(`/v1/payment-requests/${pr.id}`)).status).toBe(404);
      expect((await client.post(`/v1/payment-requests/${pr.id}/cancel`)).status).toBe(404);
      expect((await client.get(`/v1/accounts/${payee.accountId}`)).status).toBe(404);
      expect((await client.get(`/v1/parties/${payee.partyId}`)).status).toBe(404);
      expect((await client.get('/v1/payment-requests')).body.data.map((r: { id: string }) => r.id)).not.toContain(pr.id);
      const create = await client.post('/v1/payment-requests', { amount: '1', currency: 'USD', payee: { accountId: payee.accountId }, expiresIn: 600 });
      expect(create.status).toBe(404);
    }
  });

  it('lets live mode work on its own data but refuses test-only funding', async () => {
    const party = await live.post('/v1/parties', { type: 'user', username: 'live-user' });
    expect(party.body.mode).toBe('live');
    const account = await live.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
    expect(account.status).toBe(201);
    const fund = await live.post(`/v1/test-helpers/accounts/${account.body.id}/fund`, { amount: '10' });
    expect(fund.status).toBe(403);
    expect(fund.body.code).toBe('test_mode_only');
    // The same username is free in test mode: modes do not share data.
    expect((await t.admin.post('/v1/parties', { type: 'user', username: 'live-user' })).status).toBe(201);
  });
});
