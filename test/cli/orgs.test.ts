/**
 * `payreq orgs create|list|add-key`: run against the database itself, as an operator would;
 * the printed keys work on a server of that database, and the new org sees none of the
 * bootstrap org's data. Live-mode keys only with `PAYREQ_SECRET_KEY`, and a server without it
 * refuses them (README, "Secrets at rest"); `add-key` lets an org locked out of its keys back in.
 */
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/app/api-keys.js';
import { generatedKeyPath } from '../../src/secret-key.js';
import { freePort, type PayreqProcess, type PayreqRun, runPayreq, spawnPayreq, TEST_SECRET_KEY, waitForHealthy } from '../../scripts/lib/process.js';
import { Client } from '../support/client.js';
import { type TestDatabase, testDatabase } from '../support/database.js';

const database = testDatabase();
afterAll(() => database.drop());

/** Runs `payreq <args>` on `db` (this file's database by default) with `PAYREQ_SECRET_KEY` (by default the servers' test key; '' for none). */
function payreq(args: string[], options: { db?: TestDatabase; secretKey?: string } = {}): Promise<PayreqRun> {
  return runPayreq(args, { ...process.env, PAYREQ_DATABASE_URL: (options.db ?? database).url, PAYREQ_LOG_LEVEL: 'warn', PAYREQ_SECRET_KEY: options.secretKey ?? TEST_SECRET_KEY });
}

describe('payreq orgs', () => {
  it('creates orgs whose keys work and see only their own org, and lists them', { timeout: 120_000 }, async () => {
    // A server bootstraps the database's first org; the operator then adds more.
    const bootstrap = generateSecret('test');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: bootstrap });
    try {
      await waitForHealthy(url, server, 60_000);
      const created = await payreq(['orgs', 'create', '--name', 'Acme Marketplace', '--json']);
      expect(created.status, created.stderr).toBe(0);
      expect(created.stdout, created.stderr).not.toBe("");
      const acme = JSON.parse(created.stdout) as { id: string; name: string; testApiKey: string; liveApiKey: string };
      expect(acme.name).toBe('Acme Marketplace');
      expect(acme.testApiKey).toMatch(/^prq_test_/);
      expect(acme.liveApiKey).toMatch(/^prq_live_/);
      const table = await payreq(['orgs', 'create', '--name', 'Second shop']);
      expect(table.status).toBe(0);
      expect(table.stdout).toContain('test: prq_test_');
      expect((await payreq(['orgs', 'create', '--name', '  '])).status).not.toBe(0);
      expect((await payreq(['orgs', 'create'])).status).toBe(2);

      const mine = new Client(url, acme.testApiKey);
      const party = await mine.post('/v1/parties', { type: 'legal_entity', name: 'Acme seller' });
      expect(party.status).toBe(201);
      const account = await mine.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
      const pr = await mine.post('/v1/payment-requests', { amount: '5.00', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 600 });
      expect(pr.status).toBe(201);
      expect(pr.body.number).toBe(1);
      // The bootstrapped org sees nothing of Acme's, and Acme nothing of its.
      const other = new Client(url, bootstrap);
      expect((await other.get(`/v1/payment-requests/${pr.body.id as string}`)).status).toBe(404);
      expect((await other.get('/v1/payment-requests')).body.data).toEqual([]);
      expect((await mine.get('/v1/api-keys')).body.data).toHaveLength(1);

      const listed = await payreq(['orgs', 'list', '--json']);
      expect(listed.status, listed.stderr).toBe(0);
      const rows = JSON.parse(listed.stdout) as { id: string; name: string; testKeys: number; liveKeys: number }[];
      expect(rows.map((r) => r.name)).toEqual(['default', 'Acme Marketplace', 'Second shop']);
      expect(rows[1]).toMatchObject({ id: acme.id, testKeys: 1, liveKeys: 1 });
      const plain = await payreq(['orgs', 'list']);
      expect(plain.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+CREATEDAT\s+TESTKEYS\s+LIVEKEYS$/);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });

  it('issues no live-mode key without PAYREQ_SECRET_KEY, and a server without it refuses one made meanwhile, then restarts', { timeout: 180_000 }, async () => {
    const db = testDatabase();
    const admin = generateSecret('test');
    const masterKey = 'ab'.repeat(32);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let server: PayreqProcess | undefined;
    const start = (secretKey: string): PayreqProcess => {
      server = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: db.url, PAYREQ_BOOTSTRAP_API_KEY: admin, PAYREQ_SECRET_KEY: secretKey });
      return server;
    };
    const stop = async () => {
      server?.child.kill('SIGKILL');
      await server?.exited;
      server = undefined;
    };
    try {
      await waitForHealthy(url, start(''), 60_000);
      // A test-mode secret sealed with the generated key, to be resealed under the real one later.
      expect((await new Client(url, admin).post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read' }], signingSecret: true })).status).toBe(201);

      const created = await payreq(['orgs', 'create', '--name', 'No master key', '--json'], { db, secretKey: '' });
      expect(created.status, created.stderr).toBe(0);
      const org = JSON.parse(created.stdout) as { id: string; testApiKey: string; liveApiKey: string | null };
      expect(org.testApiKey).toMatch(/^prq_test_/);
      expect(org.liveApiKey).toBeNull();
      expect(created.stderr).toContain(`PAYREQ_SECRET_KEY is not set, so no live-mode key was issued`);
      expect(created.stderr).toContain(`payreq orgs add-key --org ${org.id} --mode live`);
      expect((await new Client(url, org.testApiKey).get('/v1/api-keys')).status).toBe(200);
      const refused = await payreq(['orgs', 'add-key', '--org', org.id, '--mode', 'live'], { db, secretKey: '' });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/^error: a live-mode key needs PAYREQ_SECRET_KEY/);
      expect(refused.stdout).not.toMatch(/prq_live_/);

      // No live key was made, so the server still restarts without the master key.
      await stop();
      await waitForHealthy(url, start(''), 60_000);

      // With the master key the operator issues a live key; this server, without one, refuses it.
      const live = await payreq(['orgs', 'add-key', '--org', org.id, '--mode', 'live', '--json'], { db, secretKey: masterKey });
      expect(live.status, live.stderr).toBe(0);
      const liveKey = (JSON.parse(live.stdout) as { secret: string }).secret;
      expect(liveKey).toMatch(/^prq_live_/);
      const liveClient = new Client(url, liveKey);
      for (const answer of [await liveClient.get('/v1/api-keys'), await liveClient.post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read' }], signingSecret: true })]) {
        expect(answer.status).toBe(403);
        expect(answer.body.code).toBe('live_mode_unavailable');
        expect(answer.body.detail).toMatch(/PAYREQ_SECRET_KEY/);
      }
      expect((await new Client(url, admin).get('/v1/api-keys')).status).toBe(200);

      // Without the master key it no longer starts; with it, it does, reseals the test-mode
      // secrets sealed with the generated key, and takes the live key.
      await stop();
      const unkeyed = start('');
      expect(await unkeyed.exited).not.toBe(0);
      expect(unkeyed.output()).toMatch(/PAYREQ_SECRET_KEY is required/);
      await waitForHealthy(url, start(masterKey), 60_000);
      expect((await liveClient.get('/v1/api-keys')).status).toBe(200);
      expect((await new Client(url, admin).get('/v1/api-keys')).status).toBe(200);
    } finally {
      await stop();
      await db.drop();
      if (db.engine === 'postgres') rmSync(generatedKeyPath(db.url) as string, { force: true });
    }
  });

  it('issues a key to an org against the database with payreq orgs add-key, the way back in for a locked-out org', { timeout: 120_000 }, async () => {
    const db = testDatabase();
    const lost = generateSecret('test');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: db.url, PAYREQ_BOOTSTRAP_API_KEY: lost });
    try {
      await waitForHealthy(url, server, 60_000);
      const orgId = (JSON.parse((await payreq(['orgs', 'list', '--json'], { db })).stdout) as { id: string }[])[0]!.id;
      // The org's only key manager cannot be revoked; say its secret is lost: the operator issues another.
      const lostId = ((await new Client(url, lost).get('/v1/api-keys')).body.data as { id: string }[])[0]!.id;
      const added = await payreq(['orgs', 'add-key', '--org', orgId, '--mode', 'test', '--json'], { db });
      expect(added.status, added.stderr).toBe(0);
      const key = JSON.parse(added.stdout) as { id: string; orgId: string; mode: string; name: string; grants: unknown; secret: string };
      expect(key).toMatchObject({ orgId, mode: 'test', name: 'admin', grants: [{ permission: 'admin' }] });
      const admin = new Client(url, key.secret);
      expect((await admin.request('DELETE', `/v1/api-keys/${lostId}`)).status).toBe(200);
      expect((await new Client(url, lost).get('/v1/api-keys')).status).toBe(401);

      // Chosen grants, checked as the API checks them; a table for people.
      const reader = await payreq(['orgs', 'add-key', '--org', orgId, '--mode', 'test', '--grant', 'payment_requests:read', '--name', 'reader'], { db });
      expect(reader.status, reader.stderr).toBe(0);
      expect(reader.stdout.split('\n')[0]).toMatch(/^ID\s+ORGID\s+MODE\s+NAME\s+SECRET$/);
      const readerKey = /prq_test_[0-9A-Za-z]+/.exec(reader.stdout)![0];
      expect((await new Client(url, readerKey).get('/v1/payment-requests')).status).toBe(200);
      expect((await new Client(url, readerKey).get('/v1/api-keys')).status).toBe(403);
      const scoped = await payreq(['orgs', 'add-key', '--org', orgId, '--mode', 'test', '--grant', 'payment_requests:read:account:01890000-0000-7000-8000-000000000000'], { db });
      expect(scoped.status).toBe(1);
      expect(scoped.stderr).toMatch(/^error: account .* does not exist/);
      expect((await payreq(['orgs', 'add-key', '--org', orgId, '--mode', 'test', '--grant', 'everything'], { db })).status).toBe(2);
      expect((await payreq(['orgs', 'add-key', '--org', orgId, '--mode', 'staging'], { db })).status).toBe(2);
      const unknown = await payreq(['orgs', 'add-key', '--org', '01890000-0000-7000-8000-000000000000', '--mode', 'test'], { db });
      expect(unknown.status).toBe(1);
      expect(unknown.stderr).toMatch(/^error: no org /);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
      await db.drop();
    }
  });
});
