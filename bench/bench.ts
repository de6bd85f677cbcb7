/**
 * `npm run bench`: throughput and p50/p99 latency of create, get by id, list (first page and a
 * deep cursor page) and approve, on SQLite and on PostgreSQL, first on a fresh database and
 * then with 1,000,000 payment requests already stored, next to a bare Fastify route (the
 * framework's ceiling) and the ratio of each to it. Servers run as child processes; the load
 * comes from autocannon in this process over loopback.
 *
 * Environment: `BENCH_SECONDS` per measurement (default 5), `BENCH_CONNECTIONS` (default 16),
 * `BENCH_ROWS` stored for the second pass (default 1000000), `BENCH_ENGINES` (default
 * `sqlite,postgres`), `PAYREQ_TEST_DATABASE_URL` for PostgreSQL.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { sql } from 'kysely';
import { generateSecret } from '../src/app/api-keys.js';
import type { Engine } from '../src/db/migrations.js';
import { openStore, type Store } from '../src/db/store.js';
import { freePort, ROOT, spawnPayreq, waitForHealthy } from '../scripts/lib/process.js';
import { testDatabase } from '../test/support/database.js';

const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 16);
const ROWS = Number(process.env['BENCH_ROWS'] ?? 1_000_000);
const ENGINES = (process.env['BENCH_ENGINES'] ?? 'sqlite,postgres').split(',') as Engine[];

interface Figure {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

const figures: { engine: string; data: string; figure: Figure; rssMb: number }[] = [];

function rssMb(pid: number | undefined): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

async function measure(label: string, options: autocannon.Options): Promise<Figure> {
  // A fixed `amount` of requests (approve: each request once) replaces the duration.
  const result = await autocannon(options.amount === undefined ? { connections: CONNECTIONS, duration: SECONDS, ...options } : { connections: CONNECTIONS, ...options });
  const errors = result.errors + result.timeouts + result.non2xx;
  return { label, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors };
}

async function ceiling(): Promise<Figure> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/bare-server.ts'], { cwd: ROOT, env: { ...process.env, BENCH_PORT: String(port) }, stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}/ceiling`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(url).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const figure = await measure('bare Fastify route (ceiling)', { url });
  child.kill('SIGTERM');
  return figure;
}

async function api(base: string, key: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Inserts `rows` settled payment requests, older than any made afterwards, straight into the database. */
async function seed(store: Store, engine: Engine, rows: number, orgId: string, accountId: string, partyId: string): Promise<void> {
  const start = Date.now() - 400 * 86_400_000;
  const options = '[{"currency":"USD","amount":"1000","rate":"1"}]';
  const far = Date.now() + 365 * 86_400_000;
  const chunk = 100_000;
  for (let from = 1; from <= rows; from += chunk) {
    const to = Math.min(rows, from + chunk - 1);
    if (engine === 'postgres') {
      await sql`
        insert into payment_requests (id, org_id, mode, status, amount, currency, payee_account_id, payee_party_id, payment_options, expires_at,
          amount_paid, amount_refunded, paid_at, code, payment_reference, salt, sequence, created_at, updated_at)
        select lpad(to_hex((${start}::bigint + g) >> 16), 8, '0') || '-' || lpad(to_hex((${start}::bigint + g) & 65535), 4, '0') || '-7000-8000-' || lpad(to_hex(g), 12, '0'),
          ${orgId}, 'test', 'paid', 1000, 'USD', ${accountId}, ${partyId}, ${options}, ${far}, 1000, 0, ${start}::bigint + g, 'SEED-' || g, lpad(to_hex(g), 16, '0'), 'seed', 3,
          ${start}::bigint + g, ${start}::bigint + g
        from generate_series(${from}::bigint, ${to}::bigint) g`.execute(store.db);
    } else {
      await sql`
        with recursive g(n) as (select ${from} union all select n + 1 from g where n < ${to})
        insert into payment_requests (id, org_id, mode, status, amount, currency, payee_account_id, payee_party_id, payment_options, expires_at,
          amount_paid, amount_refunded, paid_at, code, payment_reference, salt, sequence, created_at, updated_at)
        select printf('%08x-%04x-7000-8000-%012x', (${start} + n) >> 16, (${start} + n) & 65535, n),
          ${orgId}, 'test', 'paid', '1000', 'USD', ${accountId}, ${partyId}, ${options}, ${far}, '1000', '0', ${start} + n, 'SEED-' || n, printf('%016x', n), 'seed', 3,
          ${start} + n, ${start} + n
        from g`.execute(store.db);
    }
  }
  if (engine === 'postgres') await sql`analyze payment_requests`.execute(store.db);
}

async function phase(engine: Engine, data: string, base: string, key: string, world: { payee: string; payers: string[] }, store: Store, pid: number | undefined): Promise<void> {
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const created: { id: string; payer: string }[] = [];
  let k = 0;
  const nextBody = () => {
    const payer = world.payers[k++ % world.payers.length] as string;
    return JSON.stringify({ amount: '10.00', currency: 'USD', payee: { accountId: world.payee }, payer: { accountId: payer }, expiresIn: 86_400 });
  };
  const record = (figure: Figure) => figures.push({ engine, data, figure, rssMb: rssMb(pid) });

  record(await measure('create', {
    url: `${base}/v1/payment-requests`,
    method: 'POST',
    headers,
    requests: [{
      method: 'POST',
      setupRequest: (req) => ({ ...req, body: nextBody() }),
      onResponse: (status: number, text: string) => {
        if (status !== 201) return;
        const pr = JSON.parse(text) as { id: string; payer: { accountId: string } };
        created.push({ id: pr.id, payer: pr.payer.accountId });
      },
    }],
  }));

  let i = 0;
  record(await measure('get by id', {
    url: base,
    headers,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/v1/payment-requests/${created[i++ % created.length]?.id ?? ''}` }) }],
  }));

  record(await measure('list, first page (20)', { url: `${base}/v1/payment-requests?limit=20`, headers }));

  const total = Number((await store.db.selectFrom('payment_requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const deep = await store.db.selectFrom('payment_requests').select('id').orderBy('id', 'desc').offset(Math.floor(total * 0.9)).limit(1).executeTakeFirstOrThrow();
  record(await measure(`list, deep cursor page (after ${Math.floor(total * 0.9).toLocaleString('en')} rows)`, { url: `${base}/v1/payment-requests?limit=20&cursor=${deep.id}`, headers }));

  let j = 0;
  record(await measure('approve (ledger settlement)', {
    url: base,
    method: 'POST',
    headers,
    amount: created.length,
    requests: [{
      method: 'POST',
      setupRequest: (req) => {
        const next = created[j++];
        return { ...req, path: `/v1/payment-requests/${next?.id ?? ''}/approve`, body: JSON.stringify({ accountId: next?.payer }) };
      },
    }],
  }));
}

async function benchEngine(engine: Engine): Promise<void> {
  const database = testDatabase(engine);
  const key = generateSecret('test');
  const port = await freePort();
  const server = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: key, PAYREQ_LOG_LEVEL: 'error', PAYREQ_DATABASE_POOL_SIZE: '10' });
  const base = `http://127.0.0.1:${port}`;
  const store = openStore({ url: database.url, poolSize: 2 });
  try {
    await waitForHealthy(base, server, 60_000);
    const payeeParty = await api(base, key, 'POST', '/v1/parties', { type: 'legal_entity', name: 'Bench shop' });
    const payee = await api(base, key, 'POST', '/v1/accounts', { partyId: payeeParty.id, currency: 'USD' });
    // Sixteen payers, so that approvals measure settlement rather than one hot account row.
    const payers: string[] = [];
    for (let i = 0; i < 16; i++) {
      const payerParty = await api(base, key, 'POST', '/v1/parties', { type: 'user', username: `bench-payer-${i}` });
      const payer = await api(base, key, 'POST', '/v1/accounts', { partyId: payerParty.id, currency: 'USD' });
      await api(base, key, 'POST', `/v1/test-helpers/accounts/${String(payer.id)}/fund`, { amount: '1000000000000' });
      payers.push(String(payer.id));
    }
    const world = { payee: String(payee.id), payers };
    const pid = server.child.pid;

    // Warm up (JIT, connection pool, caches) without recording, so "fresh" compares with "+rows" fairly.
    await autocannon({ url: `${base}/v1/payment-requests`, method: 'POST', connections: CONNECTIONS, duration: 2, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ amount: '1', currency: 'USD', payee: { accountId: world.payee }, expiresIn: 86_400 }) });
    await autocannon({ url: `${base}/v1/payment-requests?limit=20`, connections: CONNECTIONS, duration: 2, headers: { authorization: `Bearer ${key}` } });
    console.log(`\n[${engine}] fresh database`);
    await phase(engine, 'fresh', base, key, world, store, pid);
    const org = await store.db.selectFrom('orgs').select('id').executeTakeFirstOrThrow();
    const t0 = Date.now();
    await seed(store, engine, ROWS, org.id, world.payee, String(payeeParty.id));
    console.log(`[${engine}] stored ${ROWS.toLocaleString('en')} more payment requests in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    await phase(engine, `+${ROWS.toLocaleString('en')} rows`, base, key, world, store, pid);
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
    await store.close();
    await database.drop();
  }
}

const top = await ceiling();
for (const engine of ENGINES) await benchEngine(engine);

const pad = (s: string, n: number) => s.padEnd(n);
const num = (n: number, d = 0) => n.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
console.log(`\nPayreq benchmark: ${CONNECTIONS} connections, ${SECONDS} s per measurement (approve: one call per created request), ${new Date().toISOString()}`);
console.log(`${pad('operation', 52)}${pad('engine', 10)}${pad('data', 18)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'vs ceiling'.padStart(12)}${'errors'.padStart(8)}${'RSS MB'.padStart(8)}`);
console.log(`${pad(top.label, 52)}${pad('-', 10)}${pad('-', 18)}${num(top.rps).padStart(9)}${num(top.p50, 1).padStart(9)}${num(top.p99, 1).padStart(9)}${'1.00'.padStart(12)}${String(top.errors).padStart(8)}${''.padStart(8)}`);
for (const { engine, data, figure, rssMb: rss } of figures) {
  console.log(`${pad(figure.label, 52)}${pad(engine, 10)}${pad(data, 18)}${num(figure.rps).padStart(9)}${num(figure.p50, 1).padStart(9)}${num(figure.p99, 1).padStart(9)}${(figure.rps / top.rps).toFixed(2).padStart(12)}${String(figure.errors).padStart(8)}${String(rss).padStart(8)}`);
}
console.log('\nFlat cost as data grows: compare each operation\'s "fresh" row with its "+rows" row.');
