/**
 * Crash test: the server runs as a child process, requests are created while the receiver
 * is failing (so deliveries are pending), the server is killed with SIGKILL, restarted, and
 * every committed event reaches the receiver (duplicates allowed, none missing; `webhook-id`
 * lets the receiver deduplicate).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../src/app/api-keys.js';
import { openStore } from '../src/db/store.js';
import { freePort, spawnPayreq, waitForHealthy } from '../scripts/lib/process.js';
import { Client } from './support/client.js';
import { testDatabase } from './support/database.js';
import { startReceiver } from './support/receiver.js';

const database = testDatabase();
afterAll(() => database.drop());

describe('webhooks across a crash', () => {
  it('delivers every committed event after a SIGKILL and a restart', async () => {
    const receiver = await startReceiver();
    receiver.answer = () => ({ status: 503 });
    const key = generateSecret('test');
    const port = await freePort();
    const env = {
      PAYREQ_PORT: String(port),
      PAYREQ_DATABASE_URL: database.url,
      PAYREQ_BOOTSTRAP_API_KEY: key,
      PAYREQ_WEBHOOK_RETRY_SCHEDULE: '0,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3,0.3',
      PAYREQ_WEBHOOK_TIMEOUT_MS: '1000',
      PAYREQ_WEBHOOK_POLL_INTERVAL_MS: '50',
    };
    const url = `http://127.0.0.1:${port}`;
    const api = new Client(url, key);
    let server = spawnPayreq(['serve'], env);
    try {
      await waitForHealthy(url, server);
      expect((await api.post('/v1/webhook-endpoints', { url: `${receiver.url}/hooks` })).status).toBe(201);
      const party = await api.post('/v1/parties', { type: 'user', username: 'crash' });
      const account = await api.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
      const created: string[] = [];
      for (let i = 0; i < 20; i++) {
        const pr = await api.post('/v1/payment-requests', { amount: '1', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 600 });
        expect(pr.status).toBe(201);
        created.push(pr.body.id as string);
        if (i % 2 === 0) expect((await api.post(`/v1/payment-requests/${pr.body.id}/cancel`)).status).toBe(200);
      }
      await receiver.waitFor((r) => r.length >= 5);
      server.child.kill('SIGKILL');
      await server.exited;

      const store = openStore({ url: database.url, poolSize: 1 });
      const events = await store.db.selectFrom('events').select('id').execute();
      const pending = await store.db.selectFrom('webhook_deliveries').select('id').where('status', '=', 'pending').execute();
      await store.close();
      expect(events).toHaveLength(30);
      expect(pending.length).toBeGreaterThan(0);

      receiver.answer = () => ({ status: 200 });
      server = spawnPayreq(['serve'], env);
      await waitForHealthy(url, server);
      const committed = new Set(events.map((e) => e.id));
      await receiver.waitFor((r) => [...committed].every((id) => r.some((x) => x.id === id && x.json !== undefined)), 20_000);
      const delivered = new Set(receiver.received.map((r) => r.id));
      for (const id of committed) expect(delivered.has(id)).toBe(true);
      for (const id of created) expect(receiver.received.some((r) => r.json?.data?.id === id)).toBe(true);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
      await receiver.close();
    }
  });
});
