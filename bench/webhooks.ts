/**
 * `npm run bench:webhooks`: webhook deliveries per second to a local receiver, and the latency
 * from commit to receipt (p50/p99), on SQLite and on PostgreSQL. The server runs as a child
 * process; the receiver and the load run in this process.
 *
 * - backlog: `BENCH_EVENTS` events (default 3000) are made by a process that delivers nothing
 *   (`PAYREQ_WEBHOOK_CONCURRENCY=0`); then a delivering process starts on the same database and
 *   the time to drain them gives deliveries per second (latency is queue time here, not shown).
 * - burst: as many requests created as fast as 16 connections allow, one
 *   `payment_request.created` event each, delivered while they are being made.
 * - burst at a rate: `BENCH_BURST_RATE` creates per second (500) for `BENCH_BURST_SECONDS` (5),
 *   each sent on schedule without waiting for the others' answers, delivered while being made.
 * - paced: 200 requests at 50 per second: the latency of a quiet system.
 *
 * Latency is receipt time minus the event's `timestamp` (set in the committing transaction).
 */
import { generateSecret } from '../src/app/api-keys.js';
import type { Engine } from '../src/db/engine.js';
import { freePort, spawnPayreq, waitForHealthy } from '../scripts/lib/process.js';
import { testDatabase } from '../test/support/database.js';
import { startReceiver } from '../test/support/receiver.js';

const EVENTS = Number(process.env['BENCH_EVENTS'] ?? 3000);
const ENGINES = (process.env['BENCH_ENGINES'] ?? 'sqlite,postgres').split(',') as Engine[];
const BURST_RATE = Number(process.env['BENCH_BURST_RATE'] ?? 500);
const BURST_SECONDS = Number(process.env['BENCH_BURST_SECONDS'] ?? 5);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function post(base: string, key: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

const rows: string[] = [];

async function run(engine: Engine): Promise<void> {
  const receiver = await startReceiver();
  const database = testDatabase(engine);
  const key = generateSecret('test');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: key, PAYREQ_LOG_LEVEL: 'error', PAYREQ_RATE_LIMIT: '0' };
  let server = spawnPayreq(['serve'], { ...env, PAYREQ_WEBHOOK_CONCURRENCY: '0' });
  try {
    await waitForHealthy(base, server, 60_000);
    await post(base, key, '/v1/webhook-endpoints', { url: `${receiver.url}/hooks` });
    const party = await post(base, key, '/v1/parties', { type: 'user', username: 'bench' });
    const account = await post(base, key, '/v1/accounts', { partyId: party.id, currency: 'USD' });
    const body = { amount: '1', currency: 'USD', payee: { accountId: account.id }, expiresIn: 3600 };

    const measure = (label: string, from: number, showLatency = true) => {
      const got = receiver.received.slice(from);
      const latencies = got.map((r) => r.at - Date.parse(String(r.json?.timestamp))).sort((a, b) => a - b);
      const first = got[0]?.at ?? 0;
      const last = got[got.length - 1]?.at ?? 0;
      const rate = got.length / Math.max(0.001, (last - first) / 1000);
      const p = (n: number) => (showLatency ? String(percentile(latencies, n)) : '-');
      rows.push(`${label.padEnd(32)}${engine.padEnd(10)}${String(got.length).padStart(9)}${rate.toFixed(0).padStart(14)}${p(50).padStart(10)}${p(99).padStart(10)}`);
    };
    const createMany = async (n: number) => {
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < n) {
          next += 1;
          await post(base, key, '/v1/payment-requests', body);
        }
      }));
    };

    // Backlog drain: made by a process that delivers nothing, drained by one that does.
    await createMany(EVENTS);
    server.child.kill('SIGTERM');
    await server.exited;
    const backlogStart = receiver.received.length;
    server = spawnPayreq(['serve'], { ...env, PAYREQ_WEBHOOK_CONCURRENCY: '64' });
    await waitForHealthy(base, server, 60_000);
    await receiver.waitFor((r) => r.length - backlogStart >= EVENTS, 300_000);
    measure(`backlog of ${EVENTS}, drained`, backlogStart, false);

    // Burst.
    const burstStart = receiver.received.length;
    await createMany(EVENTS);
    await receiver.waitFor((r) => r.length - burstStart >= EVENTS, 300_000);
    measure(`burst of ${EVENTS}`, burstStart);

    // A burst at a fixed rate (issue 11's row: 500 creates/s on PostgreSQL), each create sent on time whatever the answers' pace.
    const burstRateStart = receiver.received.length;
    const sent: Promise<unknown>[] = [];
    const t0 = Date.now();
    for (let i = 0; i < BURST_RATE * BURST_SECONDS; i++) {
      const wait = t0 + (i * 1000) / BURST_RATE - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sent.push(post(base, key, '/v1/payment-requests', body));
    }
    await Promise.all(sent);
    const achieved = (BURST_RATE * BURST_SECONDS) / ((Date.now() - t0) / 1000);
    await receiver.waitFor((r) => r.length - burstRateStart >= BURST_RATE * BURST_SECONDS, 300_000);
    measure(`burst, ${BURST_RATE}/s asked, ${achieved.toFixed(0)}/s made`, burstRateStart);

    // Paced.
    const pacedStart = receiver.received.length;
    for (let i = 0; i < 200; i++) {
      await post(base, key, '/v1/payment-requests', body);
      await new Promise((r) => setTimeout(r, 20));
    }
    await receiver.waitFor((r) => r.length - pacedStart >= 200, 60_000);
    measure('paced, 50 per second', pacedStart);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await receiver.close();
    await database.drop();
  }
}

for (const engine of ENGINES) await run(engine);
console.log(`\nPayreq webhook benchmark (${new Date().toISOString()}): one endpoint on a local receiver, 64 deliveries in flight`);
console.log(`${'load'.padEnd(32)}${'engine'.padEnd(10)}${'received'.padStart(9)}${'deliveries/s'.padStart(14)}${'p50 ms'.padStart(10)}${'p99 ms'.padStart(10)}`);
for (const row of rows) console.log(row);
console.log('\nLatency: from the event\'s commit (its timestamp) to its receipt by the receiver.');
