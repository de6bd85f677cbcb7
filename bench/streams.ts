/**
 * `npm run bench:streams`: live streams at scale on one Payreq process. It opens 10 subscribers,
 * then 10,000 (`BENCH_SUBSCRIBERS`), each a `GET /v1/events/stream` for one of 1,000 payer
 * parties, from a client process of their own (`bench/stream-clients.ts`), and while each set is
 * open creates requests to those payers at `BENCH_RATE` per second (20) for `BENCH_SECONDS` (10).
 * It prints, per set: the streams still open at the end (held), the server's database queries
 * per second (`payreq_db_queries_total`, every statement the process sent, workers included),
 * the events received, and the p50/p99 from an event's commit to its arrival at a subscriber.
 *
 * Environment: `BENCH_ENGINE` (`sqlite` or `postgres`), `BENCH_SUBSCRIBERS`, `BENCH_RATE`,
 * `BENCH_SECONDS`, `PAYREQ_TEST_DATABASE_URL`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSecret } from '../src/app/api-keys.js';
import type { Engine } from '../src/db/engine.js';
import { freePort, ROOT, spawnPayreq, waitForHealthy } from '../scripts/lib/process.js';
import { testDatabase } from '../test/support/database.js';

const ENGINE = (process.env['BENCH_ENGINE'] ?? 'sqlite') as Engine;
const SUBSCRIBERS = Number(process.env['BENCH_SUBSCRIBERS'] ?? 10_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 20);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const PARTIES = 1000;
const work = mkdtempSync(join(tmpdir(), 'payreq-bench-streams-'));

async function api(base: string, key: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function queries(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^payreq_db_queries_total (\d+)/m.exec(text)?.[1] ?? NaN);
}

const database = testDatabase(ENGINE);
const key = generateSecret('test');
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: key, PAYREQ_LOG_LEVEL: 'error', PAYREQ_RATE_LIMIT: '0', PAYREQ_MAX_CONNECTIONS: '0', PAYREQ_MAX_STREAMS_PER_KEY: '0', PAYREQ_MAX_STREAMS_PER_ORG: '0' });
const rows: string[] = [];
try {
  await waitForHealthy(base, server, 60_000);
  const shop = await api(base, key, '/v1/parties', { type: 'legal_entity', name: 'Stream bench shop' });
  const payee = String((await api(base, key, '/v1/accounts', { partyId: shop.id, currency: 'USD' })).id);
  const parties: string[] = [];
  for (let i = 0; i < PARTIES; i += 50) {
    parties.push(...(await Promise.all(Array.from({ length: Math.min(50, PARTIES - i) }, (_, j) => api(base, key, '/v1/parties', { type: 'user', username: `stream-${i + j}` }).then((p) => String(p.id))))));
  }

  for (const count of [10, SUBSCRIBERS]) {
    const perParty = Math.max(1, Math.round(count / PARTIES));
    const partyIds = parties.slice(0, Math.min(PARTIES, count));
    const specFile = join(work, `spec-${count}.json`);
    writeFileSync(specFile, JSON.stringify({ base, key, partyIds, perParty }));
    const clients = spawn(process.execPath, ['--import', 'tsx', 'bench/stream-clients.ts', specFile], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    clients.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const t0 = Date.now();
    while (!/^ready \d+/m.test(out)) {
      if (clients.exitCode !== null) throw new Error(`stream clients exited: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const opened = Number(/^ready (\d+)/m.exec(out)?.[1]);
    const openSeconds = (Date.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    const q0 = await queries(base);
    const started = Date.now();
    let made = 0;
    while (Date.now() - started < SECONDS * 1000) {
      const payer = partyIds[made % partyIds.length] as string;
      await api(base, key, '/v1/payment-requests', { amount: '1.00', currency: 'USD', payee: { accountId: payee }, payer: { partyId: payer }, expiresIn: 3600 });
      made++;
      const due = started + (made * 1000) / RATE;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const elapsed = (Date.now() - started) / 1000;
    const perSecond = ((await queries(base)) - q0) / elapsed;
    out = '';
    clients.kill('SIGTERM');
    await new Promise((r) => clients.once('exit', r));
    const stats = JSON.parse(out.trim().split('\n').at(-1) as string) as { open: number; received: number; p50: number | null; p99: number | null };
    const expected = made * perParty;
    rows.push(`| ${count.toLocaleString('en')} | ${opened.toLocaleString('en')} in ${openSeconds.toFixed(1)} s | ${stats.open.toLocaleString('en')} | ${made} | ${perSecond.toFixed(1)} | ${stats.received.toLocaleString('en')} / ${expected.toLocaleString('en')} | ${stats.p50 ?? '–'} | ${stats.p99 ?? '–'} |`);
    process.stdout.write(`${rows.at(-1)}\n`);
  }
} finally {
  server.child.kill('SIGTERM');
  await server.exited;
  await database.drop();
  rmSync(work, { recursive: true, force: true });
}
process.stdout.write(`\nLive streams on one Payreq process (${ENGINE}), ${RATE} creates/s for ${SECONDS} s, ${new Date().toISOString()}\n`);
process.stdout.write('| subscribers | opened | held at the end | requests created | DB queries/s (whole process) | events received / expected | p50 ms | p99 ms |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n');
for (const row of rows) process.stdout.write(`${row}\n`);
