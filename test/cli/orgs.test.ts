/**
 * `payreq orgs create|list` (issue 12): run against the database itself, as an operator would;
 * the printed keys work on a server of that database, and the new org sees none of the
 * bootstrap org's data.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/app/api-keys.js';
import { freePort, ROOT, spawnPayreq, waitForHealthy } from '../../scripts/lib/process.js';
import { Client } from '../support/client.js';
import { testDatabase } from '../support/database.js';

const database = testDatabase();
afterAll(() => database.drop());

function payreq(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env: { ...process.env, PAYREQ_DATABASE_URL: database.url, PAYREQ_LOG_LEVEL: 'warn' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
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
});
