/**
 * Durable mode (`PAYREQ_SQLITE_SYNCHRONOUS=full`, group commit): the server runs as a child
 * process under a load of 16 concurrent creates, is killed with SIGKILL mid-load, restarted, and
 * every create it acknowledged (a 201) is there, with its event. A SIGKILL leaves the operating
 * system's page cache in place, so this checks that acknowledgements follow commits; what only a
 * power loss would show (the fdatasync itself) cannot be simulated here (docs/performance.md).
 * On PostgreSQL the same test runs on the engine's own durable commit.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../src/app/api-keys.js';
import { openStore } from '../src/db/store.js';
import { freePort, spawnPayreq, waitForHealthy } from '../scripts/lib/process.js';
import { Client } from './support/client.js';
import { testDatabase } from './support/database.js';

const database = testDatabase();
afterAll(() => database.drop());

describe('durable mode across a crash', () => {
  it('keeps every acknowledged create after a SIGKILL mid-load', { timeout: 120_000 }, async () => {
    const key = generateSecret('test');
    const port = await freePort();
    const env = { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: key, PAYREQ_SQLITE_SYNCHRONOUS: 'full' };
    const url = `http://127.0.0.1:${port}`;
    const api = new Client(url, key);
    let server = spawnPayreq(['serve'], env);
    try {
      await waitForHealthy(url, server, 60_000);
      const party = await api.post('/v1/parties', { type: 'user', username: 'durable' });
      const account = await api.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
      const acknowledged: string[] = [];
      let failures = 0;
      let stop = false;
      const worker = async () => {
        while (!stop) {
          try {
            const res = await fetch(`${url}/v1/payment-requests`, {
              method: 'POST',
              headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
              body: JSON.stringify({ amount: '1.00', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 600 }),
            });
            const body = (await res.json()) as { id?: string };
            if (res.status === 201 && body.id) acknowledged.push(body.id);
          } catch {
            failures++; // the connection died with the server: not acknowledged
            return;
          }
        }
      };
      const workers = Array.from({ length: 16 }, () => worker());
      // Kill it mid-load, once a good number of creates have been answered.
      for (let i = 0; i < 200 && acknowledged.length < 300; i++) await new Promise((r) => setTimeout(r, 25));
      server.child.kill('SIGKILL');
      await server.exited;
      stop = true;
      await Promise.all(workers);
      expect(acknowledged.length).toBeGreaterThan(50);
      expect(failures).toBeGreaterThan(0);

      server = spawnPayreq(['serve'], env);
      await waitForHealthy(url, server, 60_000);
      const store = openStore({ url: database.url, poolSize: 1 });
      const stored = new Set((await store.db.selectFrom('payment_requests').select('id').execute()).map((r) => r.id));
      const withEvent = new Set((await store.db.selectFrom('events').select('payment_request_id').where('type', '=', 'payment_request.created').execute()).map((r) => r.payment_request_id));
      await store.close();
      const lost = acknowledged.filter((id) => !stored.has(id) || !withEvent.has(id));
      process.stdout.write(`durable crash: ${acknowledged.length} acknowledged creates, ${lost.length} lost\n`);
      expect(lost).toEqual([]);
      for (const id of acknowledged.slice(-5)) expect((await api.get(`/v1/payment-requests/${id}`)).status).toBe(200);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });
});
