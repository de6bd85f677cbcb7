/**
 * `npm run bench`: Payreq's hot routes against the stack's own ceilings, measured in the same
 * run with the same load generator and connections (docs/performance.md).
 *
 * Per engine (SQLite, PostgreSQL):
 * - the ceilings (`bench/ceiling-server.ts`): a validated POST inserting one row, and a GET
 *   reading one row by primary key, on the same store (pragmas, statement cache, pool);
 * - Payreq: create, get by id, list (first page of 20, and a page 90% deep through a cursor),
 *   approve into 16 payee accounts, and approve into one (the hot merchant) from 16 payers;
 *   first on a fresh database, then with `BENCH_ROWS` more requests stored;
 * - on SQLite also create in durable mode (`PAYREQ_SQLITE_SYNCHRONOUS=full`, group commit),
 *   beside create in NORMAL mode, each on a fresh server, one right after the other.
 *
 * Writes are shown as a ratio to the insert ceiling, reads to the read ceiling; the ceilings are
 * measured right before and right after each phase (fresh, with rows stored, durable), and a
 * figure is divided by their mean, since the machine's speed drifts within a run. Servers and the
 * load generator (`bench/load.ts`, autocannon) each run in their own process. At the end the
 * goal table of issue 11 is printed with the figures of this run. Payreq is built first and runs
 * from `dist/` as `npm start` runs it; the ceilings and the load generator run through tsx.
 *
 * Environment: `BENCH_QUICK=1` (2 s per measurement, 100,000 stored rows, fewer approvals),
 * `BENCH_SECONDS` (5), `BENCH_CONNECTIONS` (16), `BENCH_ROWS` (1,000,000), `BENCH_APPROVALS`
 * (3000 per approve measurement), `BENCH_ENGINES` (`sqlite,postgres`), `PAYREQ_TEST_DATABASE_URL`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { generateSecret } from '../src/app/api-keys.js';
import type { Engine } from '../src/db/engine.js';
import { openStore, type Store } from '../src/db/store.js';
import { freePort, ROOT, spawnPayreq, waitForHealthy } from '../scripts/lib/process.js';
import { testDatabase } from '../test/support/database.js';
import type { LoadResult, LoadSpec } from './load.js';
import { runLoad } from './run-load.js';

const QUICK = process.env['BENCH_QUICK'] === '1';
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? (QUICK ? 2 : 5));
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 16);
const ROWS = Number(process.env['BENCH_ROWS'] ?? (QUICK ? 100_000 : 1_000_000));
const APPROVALS = Number(process.env['BENCH_APPROVALS'] ?? (QUICK ? 600 : 3000));
const ENGINES = (process.env['BENCH_ENGINES'] ?? 'sqlite,postgres').split(',') as Engine[];
const POOL = '10';
const work = mkdtempSync(join(tmpdir(), 'payreq-bench-'));

type Kind = 'write' | 'read';
interface Figure extends LoadResult {
  label: string;
  engine: string;
  data: string;
  kind: Kind | 'ceiling';
  rssMb: number;
  /** The matching ceiling (insert for writes, read for reads): the mean of those measured just before and after this figure's phase. */
  ceiling?: number | undefined;
}
const figures: Figure[] = [];

function rssMb(pid: number | undefined): number {
  try {
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** Runs one measurement in a fresh load-generator process. */
function load(spec: Omit<LoadSpec, 'connections'> & { connections?: number }): Promise<LoadResult> {
  return runLoad({ connections: CONNECTIONS, seconds: SECONDS, ...spec }, work);
}

function captured(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function record(label: string, engine: string, data: string, kind: Figure['kind'], pid: number | undefined, spec: Parameters<typeof load>[0]): Promise<Figure> {
  const figure = { label, engine, data, kind, ...(await load(spec)), rssMb: rssMb(pid) };
  figures.push(figure);
  process.stdout.write(`  ${label.padEnd(44)} ${engine.padEnd(9)} ${data.padEnd(16)} ${Math.round(figure.rps).toString().padStart(7)} req/s  p99 ${figure.p99} ms  errors ${figure.errors}\n`);
  return figure;
}

function startChild(script: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
  return child;
}

async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fetch(url).then((r) => r.status < 500, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer`);
}

/** The insert ceiling's request body. */
const CEILING_BODY = JSON.stringify({ amount: '10.00', currency: 'USD', description: 'ceiling' });

/** A running ceiling server (`bench/ceiling-server.ts`) on its own database, measured on demand. */
interface CeilingServer {
  base: string;
  pid: number | undefined;
  ids: string[];
  stop(): Promise<void>;
}

async function startCeilings(engine: Engine): Promise<CeilingServer> {
  const database = testDatabase(engine);
  const port = await freePort();
  const child = startChild('bench/ceiling-server.ts', { BENCH_PORT: String(port), BENCH_DATABASE_URL: database.url, BENCH_POOL_SIZE: POOL });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(`${base}/ceiling`);
  const rows = join(work, `ceiling-warm-${engine}.jsonl`);
  await load({ base, headers: { 'content-type': 'application/json' }, seconds: 1, captureTo: rows, requests: [{ method: 'POST', path: '/ceiling/rows', body: CEILING_BODY }] }); // warm-up, and ids to read
  return {
    base,
    pid: child.pid,
    ids: captured(rows).slice(0, 5000).map((r) => String(r['id'])),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await database.drop();
    },
  };
}

/** Measures both ceilings now; `data` names the phase they frame. */
async function measureCeilings(engine: Engine, server: CeilingServer, data: string): Promise<{ write: number; read: number }> {
  const write = await record('ceiling: validated POST inserting one row', engine, data, 'ceiling', server.pid, { base: server.base, headers: { 'content-type': 'application/json' }, requests: [{ method: 'POST', path: '/ceiling/rows', body: CEILING_BODY }] });
  const read = await record('ceiling: GET one row by primary key', engine, data, 'ceiling', server.pid, { base: server.base, headers: {}, requests: server.ids.map((id) => ({ method: 'GET' as const, path: `/ceiling/rows/${id}` })) });
  return { write: write.rps, read: read.rps };
}

/**
 * Runs `phase` between two measurements of the ceilings, and divides each of its figures by the
 * mean of the two: the machine's speed drifts during a run (a bare route measured 27,090 req/s
 * in one run and 7,976 in another), so a figure is compared with ceilings of its own minutes.
 */
async function framed(engine: Engine, server: CeilingServer, data: string, phase: () => Promise<void>): Promise<void> {
  const before = await measureCeilings(engine, server, `${data} (before)`);
  const from = figures.length;
  await phase();
  const to = figures.length;
  const after = await measureCeilings(engine, server, `${data} (after)`);
  const mean = { write: (before.write + after.write) / 2, read: (before.read + after.read) / 2 };
  for (const f of figures.slice(from, to)) f.ceiling = f.kind === 'write' ? mean.write : f.kind === 'read' ? mean.read : undefined;
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

interface World {
  base: string;
  key: string;
  /** The hot merchant's account, and 16 more payee accounts. */
  payee: string;
  payees: string[];
  payers: string[];
  pid: number | undefined;
}

async function makeWorld(base: string, key: string, pid: number | undefined): Promise<World & { payeeParty: string }> {
  const payeeParty = await api(base, key, 'POST', '/v1/parties', { type: 'legal_entity', name: 'Bench shop' });
  const payee = await api(base, key, 'POST', '/v1/accounts', { partyId: payeeParty.id, currency: 'USD' });
  const payers: string[] = [];
  const payees: string[] = [];
  for (let i = 0; i < 16; i++) {
    const payerParty = await api(base, key, 'POST', '/v1/parties', { type: 'user', username: `bench-payer-${i}` });
    const payer = await api(base, key, 'POST', '/v1/accounts', { partyId: payerParty.id, currency: 'USD' });
    await api(base, key, 'POST', `/v1/test-helpers/accounts/${String(payer.id)}/fund`, { amount: '1000000000000' });
    payers.push(String(payer.id));
    const shop = await api(base, key, 'POST', '/v1/parties', { type: 'legal_entity', name: `Bench shop ${i}` });
    payees.push(String((await api(base, key, 'POST', '/v1/accounts', { partyId: shop.id, currency: 'USD' })).id));
  }
  return { base, key, payee: String(payee.id), payees, payers, pid, payeeParty: String(payeeParty.id) };
}

const createBody = (payee: string, payer: string) => JSON.stringify({ amount: '10.00', currency: 'USD', payee: { accountId: payee }, payer: { accountId: payer }, expiresIn: 86_400, description: 'bench' });

async function phase(engine: Engine, data: string, w: World, store: Store): Promise<void> {
  const headers = { authorization: `Bearer ${w.key}`, 'content-type': 'application/json' };
  const created = join(work, `created-${engine}-${data.replace(/\W/g, '')}.jsonl`);
  await record('create', engine, data, 'write', w.pid, { base: w.base, headers, captureTo: created, requests: w.payers.map((p) => ({ method: 'POST', path: '/v1/payment-requests', body: createBody(w.payee, p) })) });
  const hot = captured(created).map((r) => ({ id: String(r['id']), payer: String((r['payer'] as { accountId: string }).accountId) }));
  await record('get by id', engine, data, 'read', w.pid, { base: w.base, headers, requests: hot.slice(0, 5000).map((r) => ({ method: 'GET', path: `/v1/payment-requests/${r.id}` })) });
  await record('list, first page (20)', engine, data, 'read', w.pid, { base: w.base, headers, requests: [{ method: 'GET', path: '/v1/payment-requests?limit=20' }] });
  const total = Number((await store.db.selectFrom('payment_requests').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const deep = await store.db.selectFrom('payment_requests').select('id').orderBy('id', 'desc').offset(Math.floor(total * 0.9)).limit(1).executeTakeFirstOrThrow();
  await record('list, deep cursor page (90%)', engine, data, 'read', w.pid, { base: w.base, headers, requests: [{ method: 'GET', path: `/v1/payment-requests?limit=20&cursor=${deep.id}` }] });

  // Requests into 16 payees, made without measuring, then approved once each.
  const spread = join(work, `spread-${engine}-${data.replace(/\W/g, '')}.jsonl`);
  await load({ base: w.base, headers, amount: APPROVALS, captureTo: spread, requests: w.payers.map((p, i) => ({ method: 'POST', path: '/v1/payment-requests', body: createBody(w.payees[i] as string, p) })) });
  const approve = (rows: { id: string; payer: string }[]) => rows.slice(0, APPROVALS).map((r) => ({ method: 'POST' as const, path: `/v1/payment-requests/${r.id}/approve`, body: JSON.stringify({ accountId: r.payer }) }));
  const spreadRows = captured(spread).map((r) => ({ id: String(r['id']), payer: String((r['payer'] as { accountId: string }).accountId) }));
  await record('approve, 16 payers into 16 payees', engine, data, 'write', w.pid, { base: w.base, headers, amount: Math.min(APPROVALS, spreadRows.length), requests: approve(spreadRows) });
  await record('approve, 16 payers into one payee (hot)', engine, data, 'write', w.pid, { base: w.base, headers, amount: Math.min(APPROVALS, hot.length), requests: approve(hot) });
}

async function startPayreq(engine: Engine, extra: Record<string, string> = {}) {
  const database = testDatabase(engine);
  const key = generateSecret('test');
  const port = await freePort();
  const server = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: key, PAYREQ_LOG_LEVEL: 'error', PAYREQ_DATABASE_POOL_SIZE: POOL, PAYREQ_RATE_LIMIT: '0', ...extra }, { built: true });
  const base = `http://127.0.0.1:${port}`;
  await waitForHealthy(base, server, 60_000);
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  return {
    database, key, server, base, headers,
    async stop() {
      server.child.kill('SIGTERM');
      await server.exited;
      await database.drop();
    },
  };
}

/** Creates, measured on a fresh server started with `env`, after a warm-up. */
async function freshCreates(engine: Engine, label: string, env: Record<string, string>): Promise<void> {
  const server = await startPayreq(engine, env);
  try {
    const world = await makeWorld(server.base, server.key, server.server.child.pid);
    const requests = world.payers.map((payer) => ({ method: 'POST' as const, path: '/v1/payment-requests', body: createBody(world.payee, payer) }));
    await load({ base: server.base, headers: server.headers, seconds: 2, requests });
    await record(label, engine, 'fresh', 'write', server.server.child.pid, { base: server.base, headers: server.headers, requests });
  } finally {
    await server.stop();
  }
}

async function benchEngine(engine: Engine): Promise<void> {
  const ceilingServer = await startCeilings(engine);
  const p = await startPayreq(engine);
  const store = openStore({ url: p.database.url, poolSize: 2 });
  try {
    const world = await makeWorld(p.base, p.key, p.server.child.pid);
    // Warm up (JIT, pool, caches) without recording, so "fresh" compares with "+rows" fairly.
    await load({ base: p.base, headers: p.headers, seconds: 2, requests: [{ method: 'POST', path: '/v1/payment-requests', body: JSON.stringify({ amount: '1', currency: 'USD', payee: { accountId: world.payee }, expiresIn: 86_400 }) }] });
    await load({ base: p.base, headers: p.headers, seconds: 1, requests: [{ method: 'GET', path: '/v1/payment-requests?limit=20' }] });
    process.stdout.write(`\n[${engine}] fresh database\n`);
    await framed(engine, ceilingServer, 'fresh', () => phase(engine, 'fresh', world, store));
    const org = await store.db.selectFrom('orgs').select('id').executeTakeFirstOrThrow();
    const t0 = Date.now();
    await seed(store, engine, ROWS, org.id, world.payee, world.payeeParty);
    const label = `+${ROWS.toLocaleString('en')} rows`;
    process.stdout.write(`[${engine}] stored ${ROWS.toLocaleString('en')} more payment requests in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    await framed(engine, ceilingServer, label, () => phase(engine, label, world, store));
    if (engine === 'sqlite') {
      // Durable mode (every acknowledged write survives a power loss, group commit) beside NORMAL,
      // each on a fresh server and database, one right after the other.
      await framed(engine, ceilingServer, 'durable', async () => {
        await freshCreates(engine, 'create, NORMAL (beside durable)', {});
        await freshCreates(engine, 'create, durable (synchronous=full)', { PAYREQ_SQLITE_SYNCHRONOUS: 'full' });
      });
    }
  } finally {
    await store.close();
    await p.stop();
    await ceilingServer.stop();
  }
}

// Payreq runs as `npm start` runs it: built, without a loader in the process.
await new Promise<void>((resolve, reject) => {
  const build = spawn('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  build.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}`))));
});

// The framework's ceiling, once.
{
  const port = await freePort();
  const database = testDatabase('sqlite');
  const child = startChild('bench/ceiling-server.ts', { BENCH_PORT: String(port), BENCH_DATABASE_URL: database.url });
  await waitFor(`http://127.0.0.1:${port}/ceiling`);
  process.stdout.write('\n[framework]\n');
  await record('bare Fastify route, fixed JSON', '-', '-', 'ceiling', child.pid, { base: `http://127.0.0.1:${port}`, headers: {}, requests: [{ method: 'GET', path: '/ceiling' }] });
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await database.drop();
}
for (const engine of ENGINES) await benchEngine(engine);
rmSync(work, { recursive: true, force: true });

const num = (n: number, d = 0) => n.toLocaleString('en', { maximumFractionDigits: d, minimumFractionDigits: d });
const ratioOf = (f: Figure) => (f.ceiling === undefined ? NaN : f.rps / f.ceiling);
process.stdout.write(`\nPayreq benchmark: ${CONNECTIONS} connections, ${SECONDS} s per measurement (approve: ${APPROVALS} calls), ${new Date().toISOString()}${QUICK ? ' (BENCH_QUICK)' : ''}\n`);
process.stdout.write('| operation | engine | data | req/s | p50 ms | p99 ms | vs ceiling | errors | RSS MB |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n');
for (const f of figures) {
  const r = ratioOf(f);
  process.stdout.write(`| ${f.label} | ${f.engine} | ${f.data} | ${num(f.rps)} | ${num(f.p50, 1)} | ${num(f.p99, 1)} | ${Number.isNaN(r) ? '–' : `${r.toFixed(2)} (${f.kind === 'write' ? 'insert' : 'read'})`} | ${f.errors} | ${f.rssMb} |\n`);
}

// The goal table of issue 11, with this run's figures.
const find = (engine: string, label: string, data = 'fresh') => figures.find((f) => f.engine === engine && f.label === label && f.data === data);
const ratio = (engine: string, label: string) => {
  const f = find(engine, label);
  return f ? ratioOf(f).toFixed(2) : 'n/a';
};
// Each slowdown compares ratios, so that the machine's drift between the two phases cancels out.
const slowdowns = figures.filter((f) => f.kind !== 'ceiling' && f.data.startsWith('+')).map((f) => {
  const fresh = find(f.engine, f.label);
  return fresh ? ratioOf(fresh) / ratioOf(f) : 1;
});
const hotPg = find('postgres', 'approve, 16 payers into one payee (hot)');
const durable = find('sqlite', 'create, durable (synchronous=full)');
const normal = find('sqlite', 'create, NORMAL (beside durable)');
const goals: [string, string, string, string][] = [
  ['create, SQLite / insert ceiling', '0.12', ratio('sqlite', 'create'), '≥ 0.40'],
  ['create, PostgreSQL / insert ceiling', '0.14', ratio('postgres', 'create'), '≥ 0.35'],
  ['get by id / read ceiling, SQLite; PostgreSQL', '0.22; 0.58', `${ratio('sqlite', 'get by id')}; ${ratio('postgres', 'get by id')}`, '≥ 0.60; ≥ 0.80'],
  ['list first page of 20 / read ceiling, SQLite; PostgreSQL', '0.05', `${ratio('sqlite', 'list, first page (20)')}; ${ratio('postgres', 'list, first page (20)')}`, '≥ 0.25'],
  ['approve (16 payers, one payee) / insert ceiling, SQLite', '0.08', ratio('sqlite', 'approve, 16 payers into one payee (hot)'), '≥ 0.25'],
  ['approve (16 payers, one payee) / insert ceiling, PostgreSQL; p99', '0.04; 370–550 ms', `${ratio('postgres', 'approve, 16 payers into one payee (hot)')}; ${hotPg ? `${hotPg.p99} ms` : 'n/a'}`, '≥ 0.25; ≤ 100 ms'],
  ['durable SQLite create / NORMAL create', '—', durable && normal ? (durable.rps / normal.rps).toFixed(2) : 'n/a', '≥ 0.60'],
  [`each figure with ${ROWS.toLocaleString('en')} stored requests / fresh (worst slowdown)`, '≈ 1.0', slowdowns.length ? Math.max(...slowdowns).toFixed(2) : 'n/a', '≤ 1.25'],
  ['server RSS under the bench (largest)', '200–230 MB', `${Math.max(...figures.filter((f) => f.kind !== 'ceiling').map((f) => f.rssMb))} MB`, '≤ 200 MB'],
];
process.stdout.write('\n| figure | before issue 11 | this run | goal |\n|---|---|---|---|\n');
for (const [a, b, c, d] of goals) process.stdout.write(`| ${a} | ${b} | ${c} | ${d} |\n`);
