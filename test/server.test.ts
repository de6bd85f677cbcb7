/**
 * The server as a user runs it: `payreq serve` on an empty database creates an org and prints
 * a test-mode admin key; `payreq migrate` migrates once; SIGTERM lets in-flight requests finish.
 */
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../src/app/api-keys.js';
import { freePort, spawnPayreq, waitForHealthy } from '../scripts/lib/process.js';
import { type TestDatabase, testDatabase } from './support/database.js';

const databases: TestDatabase[] = [];
function freshUrl(): string {
  const database = testDatabase();
  databases.push(database);
  return database.url;
}
afterAll(async () => {
  for (const database of databases) await database.drop();
});

describe('payreq serve', () => {
  it('creates an org on an empty database and prints its test-mode admin key once', async () => {
    const port = await freePort();
    const env = { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: freshUrl() };
    const proc = spawnPayreq(['serve'], env);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForHealthy(url, proc);
      const key = /(prq_test_[0-9A-Za-z]+)/.exec(proc.output())?.[1];
      expect(key).toBeDefined();
      const res = await fetch(`${url}/v1/payment-requests`, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status).toBe(200);
    } finally {
      proc.child.kill('SIGTERM');
      expect(await proc.exited, proc.output()).toBe(0);
    }
    // A restart on the same database prints no new key and the old one still works.
    const again = spawnPayreq(['serve'], env);
    try {
      await waitForHealthy(url, again);
      expect(again.output()).not.toMatch(/prq_test_/);
    } finally {
      again.child.kill('SIGTERM');
      await again.exited;
    }
  });

  it('finishes an in-flight request after SIGTERM, then exits 0', async () => {
    const port = await freePort();
    const key = generateSecret('test');
    const proc = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: freshUrl(), PAYREQ_BOOTSTRAP_API_KEY: key });
    await waitForHealthy(`http://127.0.0.1:${port}`, proc);
    const body = JSON.stringify({ type: 'user', username: 'in-flight' });
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/parties', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        proc.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    const res = await response;
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toMatchObject({ username: 'in-flight' });
    expect(await proc.exited, proc.output()).toBe(0);
  });
});

describe('payreq migrate', () => {
  it('applies the migrations once', async () => {
    const env = { PAYREQ_DATABASE_URL: freshUrl() };
    const first = spawnPayreq(['migrate'], env);
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/applied: 0001_initial/);
    const second = spawnPayreq(['migrate'], env);
    expect(await second.exited).toBe(0);
    expect(second.output()).toMatch(/nothing to migrate/);
  });

  it('refuses an unknown command', async () => {
    const proc = spawnPayreq(['fly'], {});
    expect(await proc.exited).toBe(2);
    expect(proc.output()).toMatch(/unknown command 'fly'/);
    expect(proc.output()).toMatch(/usage: payreq/i);
  });
});
