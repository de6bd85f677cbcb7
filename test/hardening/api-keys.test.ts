/**
 * API key lifecycle (issue 12): an optional expiry, `lastUsedAt`, listing, and
 * `DELETE /v1/api-keys/{id}` revoking at once, in the revoking process and, within a second, in
 * another server process on the same database (each process caches authenticated keys).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { testEngine } from '../support/database.js';
import { type Cluster, startCluster } from '../scale/cluster.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { recordFigure } from './figures.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('API key lifecycle', () => {
  it('expires a key at its expiresAt', async () => {
    const made = await t.admin.post('/v1/api-keys', { name: 'short-lived', grants: [{ permission: 'payment_requests:read' }], expiresIn: 60 });
    expect(made.status).toBe(201);
    expect(Date.parse(made.body.expiresAt) - Date.parse(made.body.createdAt)).toBe(60_000);
    const client = new Client(t.url, made.body.secret);
    expect((await client.get('/v1/payment-requests')).status).toBe(200);
    t.clock.advance(61_000);
    const refused = await client.get('/v1/payment-requests');
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('unauthenticated');
  });

  it('refuses an expiry out of bounds with a 422', async () => {
    for (const expiresIn of [0, 59, -5, 1.5, '60']) {
      const res = await t.admin.post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read' }], expiresIn });
      expect(res.status, JSON.stringify(expiresIn)).toBe(422);
    }
  });

  it('records lastUsedAt and lists keys without their secrets', async () => {
    const made = await t.admin.post('/v1/api-keys', { name: 'reader', grants: [{ permission: 'payment_requests:read' }] });
    expect(made.body.lastUsedAt).toBeNull();
    const before = t.clock.now();
    expect((await new Client(t.url, made.body.secret).get('/v1/payment-requests')).status).toBe(200);
    const listed = await t.admin.get('/v1/api-keys?limit=100');
    expect(listed.status).toBe(200);
    const key = listed.body.data.find((k: { id: string }) => k.id === made.body.id);
    expect(Date.parse(key.lastUsedAt)).toBeGreaterThanOrEqual(before - 1);
    expect(key.revokedAt).toBeNull();
    expect(JSON.stringify(listed.body)).not.toContain(made.body.secret);
    expect(listed.body.data.every((k: Record<string, unknown>) => k['secret'] === undefined)).toBe(true);
  });

  it('revokes at once in the same process, and only a key manager may', async () => {
    const made = await t.admin.post('/v1/api-keys', { name: 'to revoke', grants: [{ permission: 'payment_requests:read' }] });
    const client = new Client(t.url, made.body.secret);
    expect((await client.get('/v1/payment-requests')).status).toBe(200);
    // The key itself lacks api_keys:manage.
    expect((await client.request('DELETE', `/v1/api-keys/${made.body.id as string}`)).status).toBe(403);
    const revoked = await t.admin.request('DELETE', `/v1/api-keys/${made.body.id as string}`);
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
    expect((await client.get('/v1/payment-requests')).status).toBe(401);
    // Revoking again answers the key unchanged; an unknown id is a 404.
    const again = await t.admin.request('DELETE', `/v1/api-keys/${made.body.id as string}`);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    const unknown = await t.admin.request('DELETE', '/v1/api-keys/01890000-0000-7000-8000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('api_key_not_found');
  });
});

// Several processes share a database on PostgreSQL only: SQLite is one process's database, and a
// second server on its file is refused (docs/deployment.md, "One process per SQLite file").
if (testEngine() === 'postgres') describe('revocation across processes', () => {
  let cluster: Cluster;
  afterAll(() => cluster.close());

  it('stops a revoked key in another process within a second', { timeout: 120_000 }, async () => {
    cluster = await startCluster(2, {}, testEngine());
    const admin = cluster.adminKey;
    const urls = cluster.nodes.map((n) => n.url);
    const [a, b] = urls as [string, string];
    const delays: number[] = [];
    for (let round = 0; round < 5; round++) {
      const made = await new Client(a, admin).post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read' }] });
      const onB = new Client(b, made.body.secret);
      // B has authenticated (and cached) the key just before the revocation.
      expect((await onB.get('/v1/payment-requests')).status).toBe(200);
      const revoked = await new Client(a, admin).request('DELETE', `/v1/api-keys/${made.body.id as string}`);
      expect(revoked.status).toBe(200);
      const at = Date.now();
      let status = 200;
      while (status === 200 && Date.now() - at < 5000) {
        status = (await onB.get('/v1/payment-requests')).status;
        if (status === 200) await new Promise((r) => setTimeout(r, 10));
      }
      expect(status).toBe(401);
      delays.push(Date.now() - at);
    }
    recordFigure('key revocation across processes', `${delays.length} revocations / longest ${Math.max(...delays)} ms until refused (limit 1000)`);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
  });
});
