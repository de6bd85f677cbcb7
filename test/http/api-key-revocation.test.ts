/**
 * Who may revoke which API key (`DELETE /v1/api-keys/{id}`, docs/api.md "API keys: expiry,
 * revocation, last use"): only a key whose grants the caller's cover, and never the last key of
 * an org and mode that can manage keys, not even when several managers revoke each other at once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/app/api-keys.js';
import type { ApiResponse, Client } from '../support/client.js';
import { testDatabase, testEngine } from '../support/database.js';
import { type Cluster, startCluster } from '../scale/cluster.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function makeKey(by: Client, grants: { permission: string; accountId?: string }[], extra: Record<string, unknown> = {}): Promise<{ id: string; secret: string }> {
  const made = await by.post('/v1/api-keys', { grants, ...extra });
  expect(made.status, JSON.stringify(made.body)).toBe(201);
  return { id: made.body.id as string, secret: made.body.secret as string };
}

async function bootstrapKeyId(s: TestServer): Promise<string> {
  const listed = await s.admin.get('/v1/api-keys?limit=100');
  const admin = listed.body.data.find((k: { name: string | null }) => k.name === 'admin');
  return admin.id as string;
}

describe('revoking API keys', () => {
  it('lets a key manager revoke only keys whose grants its own cover', async () => {
    t = await startTestServer();
    const manager = await makeKey(t.admin, [{ permission: 'api_keys:manage' }, { permission: 'payment_requests:read' }]);
    const managerClient = t.client(manager.secret);
    const reader = await makeKey(t.admin, [{ permission: 'payment_requests:read' }]);
    const hooks = await makeKey(t.admin, [{ permission: 'webhooks:manage' }]);
    const adminId = await bootstrapKeyId(t);

    // The admin key, and a key holding a permission the manager lacks, are beyond it: 403, nothing revoked.
    for (const id of [adminId, hooks.id]) {
      const refused = await managerClient.request('DELETE', `/v1/api-keys/${id}`);
      expect(refused.status, id).toBe(403);
      expect(refused.body.code).toBe('forbidden');
      expect(refused.body.detail).toMatch(/does not hold itself/);
    }
    expect((await t.admin.get('/v1/api-keys')).status).toBe(200);
    expect((await t.client(hooks.secret).get('/v1/webhook-endpoints')).status).toBe(200);

    // A key it covers, it revokes.
    const revoked = await managerClient.request('DELETE', `/v1/api-keys/${reader.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await t.client(reader.secret).get('/v1/payment-requests')).status).toBe(401);
    // An account-scoped grant is covered by the general one of the same permission.
    const party = await t.admin.post('/v1/parties', { type: 'legal_entity', name: 'Scoped' });
    const account = await t.admin.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
    const scoped = await makeKey(t.admin, [{ permission: 'payment_requests:read', accountId: account.body.id as string }]);
    expect((await managerClient.request('DELETE', `/v1/api-keys/${scoped.id}`)).status).toBe(200);
    // The admin revokes the manager (admin covers everything).
    expect((await t.admin.request('DELETE', `/v1/api-keys/${manager.id}`)).status).toBe(200);
  });

  it("refuses to revoke the org's last key that can manage keys, the caller itself included", async () => {
    t = await startTestServer();
    const adminId = await bootstrapKeyId(t);
    const refused = await t.admin.request('DELETE', `/v1/api-keys/${adminId}`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('last_key_manager');
    expect(refused.body.detail).toMatch(/payreq orgs add-key/);
    expect((await t.admin.get('/v1/api-keys')).status).toBe(200);

    // A scoped api_keys:manage grant cannot manage keys, so it does not count.
    const party = await t.admin.post('/v1/parties', { type: 'legal_entity', name: 'Scoped' });
    const account = await t.admin.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
    await makeKey(t.admin, [{ permission: 'api_keys:manage', accountId: account.body.id as string }]);
    expect((await t.admin.request('DELETE', `/v1/api-keys/${adminId}`)).status).toBe(409);

    // A second manager that expires does not count once it has expired.
    const shortLived = await makeKey(t.admin, [{ permission: 'api_keys:manage' }], { expiresIn: 60 });
    t.clock.advance(61_000);
    expect((await t.admin.request('DELETE', `/v1/api-keys/${adminId}`)).status).toBe(409);
    expect((await t.client(shortLived.secret).get('/v1/api-keys')).status).toBe(401);

    // With another manager the admin key may go, even revoking itself; then the other is the last.
    const successor = await makeKey(t.admin, [{ permission: 'api_keys:manage' }]);
    const self = await t.admin.request('DELETE', `/v1/api-keys/${adminId}`);
    expect(self.status).toBe(200);
    expect((await t.admin.get('/v1/api-keys')).status).toBe(401);
    const last = await t.client(successor.secret).request('DELETE', `/v1/api-keys/${successor.id}`);
    expect(last.status).toBe(409);
    expect(last.body.code).toBe('last_key_manager');
  });

  it('does not count a manager that expires sooner than the key revoked, so that no revocation leaves the org a manager about to expire', async () => {
    t = await startTestServer();
    const adminId = await bootstrapKeyId(t);
    // A manager valid for one more second is no successor to a key that never expires.
    const fleeting = await makeKey(t.admin, [{ permission: 'admin' }], { expiresIn: 60 });
    t.clock.advance(59_000);
    const refused = await t.admin.request('DELETE', `/v1/api-keys/${adminId}`);
    expect(refused.status, JSON.stringify(refused.body)).toBe(409);
    expect(refused.body.code).toBe('last_key_manager');
    expect(refused.body.detail).toMatch(/never expires/);
    t.clock.advance(2_000);
    expect((await t.client(fleeting.secret).get('/v1/api-keys')).status).toBe(401);
    expect((await t.admin.get('/v1/api-keys')).status).toBe(200);

    // Expiring managers: one that expires later may replace one that expires sooner, not the reverse.
    const sooner = await makeKey(t.admin, [{ permission: 'api_keys:manage' }], { expiresIn: 3600 });
    const later = await makeKey(t.admin, [{ permission: 'api_keys:manage' }], { expiresIn: 7200 });
    const permanent = await makeKey(t.admin, [{ permission: 'api_keys:manage' }]);
    expect((await t.admin.request('DELETE', `/v1/api-keys/${adminId}`)).status).toBe(200);
    expect((await t.client(permanent.secret).request('DELETE', `/v1/api-keys/${sooner.id}`)).status).toBe(200);
    const keepsLater = await t.client(later.secret).request('DELETE', `/v1/api-keys/${permanent.id}`);
    expect(keepsLater.status).toBe(409);
    expect(keepsLater.body.code).toBe('last_key_manager');
    expect((await t.client(permanent.secret).request('DELETE', `/v1/api-keys/${later.id}`)).status).toBe(200);
  });

  it('keeps a revoked bootstrap key revoked when the server restarts with PAYREQ_BOOTSTRAP_API_KEY still set, and starts', async () => {
    const database = testDatabase();
    const bootstrapKey = generateSecret('test');
    try {
      t = await startTestServer({}, { database, adminKey: bootstrapKey });
      const successor = await makeKey(t.admin, [{ permission: 'admin' }]);
      const bootstrapId = await bootstrapKeyId(t);
      expect((await t.client(successor.secret).request('DELETE', `/v1/api-keys/${bootstrapId}`)).status).toBe(200);
      await t.close();
      t = undefined;

      t = await startTestServer({}, { database, adminKey: bootstrapKey });
      expect((await t.admin.get('/v1/api-keys')).status).toBe(401);
      const listed = await t.client(successor.secret).get('/v1/api-keys?limit=100');
      expect(listed.status).toBe(200);
      const admins = listed.body.data.filter((k: { name: string | null }) => k.name === 'admin');
      expect(admins.map((k: { id: string; revokedAt: string | null }) => [k.id, k.revokedAt !== null])).toEqual([[bootstrapId, true]]);
    } finally {
      await t?.close();
      t = undefined;
      await database.drop();
    }
  });

  it('revokes a key while another process (the operator\'s CLI, say) writes to the database at the same moment', { timeout: 120_000 }, async () => {
    let cluster: Cluster | undefined;
    try {
      cluster = await startCluster(1, {}, testEngine());
      const node = cluster.nodes[0]!;
      const made = await node.admin.post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read' }] });
      expect(made.status).toBe(201);
      // Another connection writes (a key row the revocation reads) and commits while the revocation is under way.
      let answer: Promise<ApiResponse> | undefined;
      await cluster.store.db.transaction().execute(async (trx) => {
        await trx.updateTable('api_keys').set({ last_used_at: Date.now() }).where('id', '=', made.body.id as string).execute();
        answer = node.admin.request('DELETE', `/v1/api-keys/${made.body.id as string}`);
        await new Promise((r) => setTimeout(r, 500));
      });
      const revoked = await answer!;
      expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
      expect(revoked.body.revokedAt).not.toBeNull();
    } finally {
      await cluster?.close();
    }
  });

  it('stops a key in this process as soon as its revocation is answered, even while requests with it were being authenticated', { timeout: 60_000 }, async () => {
    t = await startTestServer();
    const s = t;
    let late = 0;
    for (let round = 0; round < 20; round++) {
      const key = await makeKey(s.admin, [{ permission: 'payment_requests:read' }]);
      const client = s.client(key.secret);
      // Requests with the key, authenticated (looked up, not yet cached) while it is revoked.
      const during = Array.from({ length: 8 }, () => client.get('/v1/payment-requests?limit=1'));
      const revoked = await s.admin.request('DELETE', `/v1/api-keys/${key.id}`);
      expect(revoked.status).toBe(200);
      await Promise.all(during);
      // Sent after the answer: refused, whatever the lookups under way cached meanwhile.
      if ((await client.get('/v1/payment-requests?limit=1')).status !== 401) late++;
    }
    expect(late).toBe(0);
  });

  it('leaves at least one key manager when managers revoke one another at once', { timeout: 60_000 }, async () => {
    t = await startTestServer();
    const s = t;
    let survivor = { id: await bootstrapKeyId(s), secret: s.adminKey };
    for (let round = 0; round < 5; round++) {
      // A ring of admins, each revoking the next at the same moment.
      const ring = [survivor];
      for (let i = 0; i < 4; i++) ring.push(await makeKey(s.client(survivor.secret), [{ permission: 'admin' }]));
      const answers = await Promise.all(ring.map((key, i) => s.client(key.secret).request('DELETE', `/v1/api-keys/${ring[(i + 1) % ring.length]!.id}`)));
      const statuses = answers.map((a) => a.status);
      for (const status of statuses) expect([200, 401, 409], JSON.stringify(statuses)).toContain(status);
      const alive = [];
      for (const key of ring) if ((await s.client(key.secret).get('/v1/api-keys')).status === 200) alive.push(key);
      expect(alive.length, JSON.stringify(statuses)).toBeGreaterThanOrEqual(1);
      expect(statuses.filter((status) => status === 200).length).toBe(ring.length - alive.length);
      // The first survivor revokes the others left, so that the next round starts from one manager.
      survivor = alive[0]!;
      for (const key of alive.slice(1)) expect((await s.client(survivor.secret).request('DELETE', `/v1/api-keys/${key.id}`)).status).toBe(200);
      const listed = await s.client(survivor.secret).get('/v1/api-keys?limit=100');
      expect(listed.body.data.filter((k: { revokedAt: string | null }) => k.revokedAt === null).map((k: { id: string }) => k.id)).toEqual([survivor.id]);
    }
  });
});
