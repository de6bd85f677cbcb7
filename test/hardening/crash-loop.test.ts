/**
 * Crash loops (issue 12): the server runs as a child process under a mixed write load (creates,
 * approvals, refunds, recorded payments, and webhook deliveries to a real receiver), is killed
 * with SIGKILL, restarted, and checked, 20 times on SQLite (5 on PostgreSQL, whose commit
 * durability is the engine's own). After each restart:
 * - every acknowledged write is there (each create, approval, refund and payment);
 * - the ledger invariants hold: each currency sums to zero, every balance equals the sum of its
 *   postings, no party account is negative;
 * - every payment request's event sequences run 1, 2, 3… without a gap;
 * and at the end every committed event has reached the receiver.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/app/api-keys.js';
import { openStore } from '../../src/db/store.js';
import { freePort, type PayreqProcess, spawnPayreq, waitForHealthy } from '../../scripts/lib/process.js';
import { Client } from '../support/client.js';
import { testDatabase, testEngine } from '../support/database.js';
import { startReceiver } from '../support/receiver.js';
import { recordFigure } from './figures.js';

const CYCLES = Number(process.env['CRASH_CYCLES'] ?? (testEngine() === 'sqlite' ? 20 : 5));
const database = testDatabase();
afterAll(() => database.drop());

interface Acked {
  created: Set<string>;
  paid: Set<string>;
  refunds: Map<string, string>; // refund id → payment request id
  payments: Map<string, string>; // reference → payment request id
}

/** The invariants after a restart; answers what is wrong (nothing: an empty list). */
async function check(acked: Acked): Promise<{ problems: string[]; lost: number }> {
  const store = openStore({ url: database.url, poolSize: 1 });
  try {
    const problems: string[] = [];
    const requests = new Map((await store.db.selectFrom('payment_requests').select(['id', 'status']).execute()).map((r) => [r.id, r.status]));
    const refunds = new Set((await store.db.selectFrom('refunds').select('id').execute()).map((r) => r.id));
    const payments = new Set((await store.db.selectFrom('payments').select('reference').execute()).map((r) => r.reference));
    let lost = 0;
    for (const id of acked.created) if (!requests.has(id)) {
      lost++;
      problems.push(`acknowledged create ${id} is missing`);
    }
    for (const id of acked.paid) if (!['paid', 'refunded'].includes(requests.get(id) ?? '')) {
      lost++;
      problems.push(`acknowledged approval of ${id} is missing (status ${requests.get(id) ?? 'none'})`);
    }
    for (const id of acked.refunds.keys()) if (!refunds.has(id)) {
      lost++;
      problems.push(`acknowledged refund ${id} is missing`);
    }
    for (const reference of acked.payments.keys()) if (!payments.has(reference)) {
      lost++;
      problems.push(`acknowledged payment ${reference} is missing`);
    }

    const accounts = await store.db.selectFrom('accounts').select(['id', 'currency', 'balance', 'party_id']).execute();
    const postings = new Map<string, bigint>();
    for (const e of await store.db.selectFrom('ledger_entries').select(['account_id', 'amount']).execute()) postings.set(e.account_id, (postings.get(e.account_id) ?? 0n) + BigInt(e.amount));
    const sums = new Map<string, bigint>();
    for (const a of accounts) {
      const balance = BigInt(a.balance);
      sums.set(a.currency, (sums.get(a.currency) ?? 0n) + balance);
      if (balance !== (postings.get(a.id) ?? 0n)) problems.push(`account ${a.id}: balance ${balance} but postings sum to ${postings.get(a.id) ?? 0n}`);
      if (a.party_id !== null && balance < 0n) problems.push(`party account ${a.id} is negative: ${balance}`);
    }
    for (const [currency, sum] of sums) if (sum !== 0n) problems.push(`${currency} sums to ${sum}, not zero`);

    const sequences = new Map<string, number[]>();
    for (const e of await store.db.selectFrom('events').select(['payment_request_id', 'sequence']).where('payment_request_id', 'is not', null).execute()) {
      const list = sequences.get(e.payment_request_id as string) ?? [];
      list.push(Number(e.sequence));
      sequences.set(e.payment_request_id as string, list);
    }
    for (const [id, list] of sequences) {
      list.sort((a, b) => a - b);
      if (list.some((s, i) => s !== i + 1)) problems.push(`request ${id}: event sequences ${list.join(',')} have a gap`);
    }
    return { problems, lost };
  } finally {
    await store.close();
  }
}

describe('crash loops', () => {
  it(`keeps every acknowledged write, the ledger and the event log whole through ${CYCLES} SIGKILLs under a mixed load`, { timeout: 900_000 }, async () => {
    const receiver = await startReceiver();
    const key = generateSecret('test');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = {
      PAYREQ_PORT: String(port),
      PAYREQ_DATABASE_URL: database.url,
      PAYREQ_BOOTSTRAP_API_KEY: key,
      PAYREQ_RATE_LIMIT: '0',
      PAYREQ_WEBHOOK_RETRY_SCHEDULE: Array.from({ length: 20 }, (_, i) => (i === 0 ? 0 : 0.2)).join(','),
      PAYREQ_WEBHOOK_TIMEOUT_MS: '1000',
      PAYREQ_WEBHOOK_POLL_INTERVAL_MS: '50',
    };
    const api = new Client(url, key);
    let server: PayreqProcess = spawnPayreq(['serve'], env);
    const acked: Acked = { created: new Set(), paid: new Set(), refunds: new Map(), payments: new Map() };
    let lostTotal = 0;
    let writes = 0;
    try {
      await waitForHealthy(url, server, 60_000);
      expect((await api.post('/v1/webhook-endpoints', { url: receiver.url })).status).toBe(201);
      const shop = await api.post('/v1/parties', { type: 'legal_entity', name: 'Crash-loop shop' });
      const payee = (await api.post('/v1/accounts', { partyId: shop.body.id, currency: 'USD' })).body.id as string;
      const payers: string[] = [];
      for (let i = 0; i < 6; i++) {
        const user = await api.post('/v1/parties', { type: 'user', username: `loop-payer-${i}` });
        const account = (await api.post('/v1/accounts', { partyId: user.body.id, currency: 'USD' })).body.id as string;
        await api.post(`/v1/test-helpers/accounts/${account}/fund`, { amount: '1000000.00' });
        payers.push(account);
      }
      let reference = 0;
      for (let cycle = 1; cycle <= CYCLES; cycle++) {
        let stop = false;
        const target = writes + 40;
        const worker = async (w: number) => {
          const payer = payers[w] as string;
          const pending: string[] = [];
          const paid: string[] = [];
          try {
            while (!stop) {
              const roll = Math.random();
              if (roll < 0.4 || pending.length === 0) {
                const res = await api.post('/v1/payment-requests', { amount: '10.00', currency: 'USD', payee: { accountId: payee }, payer: { accountId: payer }, expiresIn: 86_400 });
                if (res.status === 201) {
                  acked.created.add(res.body.id);
                  pending.push(res.body.id);
                  writes++;
                }
              } else if (roll < 0.7) {
                const id = pending.shift() as string;
                const res = await api.post(`/v1/payment-requests/${id}/approve`, { accountId: payer });
                if (res.status === 200 && res.body.status === 'paid') {
                  acked.paid.add(id);
                  paid.push(id);
                  writes++;
                }
              } else if (roll < 0.85 && paid.length > 0) {
                const id = paid.shift() as string;
                const res = await api.post(`/v1/payment-requests/${id}/refunds`, { amount: '2.50', reason: 'crash loop' });
                if (res.status === 201) {
                  acked.refunds.set(res.body.id, id);
                  writes++;
                }
              } else {
                const id = pending.shift() as string;
                const ref = `loop-${cycle}-${w}-${reference++}`;
                const res = await api.post(`/v1/payment-requests/${id}/payments`, { amount: '10.00', reference: ref });
                if (res.status === 201) {
                  acked.payments.set(ref, id);
                  writes++;
                }
              }
            }
          } catch {
            // the connection died with the server: whatever was in flight is not acknowledged
          }
        };
        const workers = payers.map((_, w) => worker(w));
        const deadline = Date.now() + 5000;
        while (writes < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
        server.child.kill('SIGKILL');
        await server.exited;
        stop = true;
        await Promise.all(workers);
        server = spawnPayreq(['serve'], env);
        await waitForHealthy(url, server, 60_000);
        const { problems, lost } = await check(acked);
        lostTotal += lost;
        expect(problems, `after crash ${cycle}`).toEqual([]);
      }
      // Every committed event reaches the receiver (duplicates allowed, none missing).
      const store = openStore({ url: database.url, poolSize: 1 });
      const committed = (await store.db.selectFrom('events').select('id').execute()).map((e) => e.id);
      await store.close();
      const waitUntil = Date.now() + 60_000;
      let undelivered = committed.length;
      while (Date.now() < waitUntil) {
        const delivered = new Set(receiver.received.map((r) => r.id));
        undelivered = committed.filter((id) => !delivered.has(id)).length;
        if (undelivered === 0) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      recordFigure('crash loops', `${CYCLES} crash loops / ${writes} acked writes, ${lostTotal} lost / ${committed.length} events, ${undelivered} undelivered`);
      expect(writes).toBeGreaterThanOrEqual(CYCLES * 20);
      expect(lostTotal).toBe(0);
      expect(undelivered).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
      await receiver.close();
    }
  });
});
