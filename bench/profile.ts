/**
 * `npm run bench:profile -- <operation> [engine]`: a CPU profile of built Payreq under one load,
 * summed by package and by function, the tool behind docs/performance.md's "what each change
 * bought". `operation` is `create`, `get`, `list` or `approve`; `engine` is `sqlite` (default)
 * or `postgres`. The server runs from `dist/` with `node --cpu-prof`; the load generator
 * (`bench/load.ts`) runs in its own process for `BENCH_SECONDS` (5) with `BENCH_CONNECTIONS`
 * (16). Prints the rate, then the top self-time entries (percent of all samples).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSecret } from '../src/app/api-keys.js';
import type { Engine } from '../src/db/engine.js';
import { freePort, ROOT, startFlags, TEST_SECRET_KEY, waitForHealthy } from '../scripts/lib/process.js';
import { testDatabase } from '../test/support/database.js';
import type { LoadResult, LoadSpec } from './load.js';
import { runLoad } from './run-load.js';

const operation = process.argv[2] ?? 'create';
const engine = (process.argv[3] ?? 'sqlite') as Engine;
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const CONNECTIONS = Number(process.env['BENCH_CONNECTIONS'] ?? 16);
const work = mkdtempSync(join(tmpdir(), 'payreq-profile-'));

function load(spec: Omit<LoadSpec, 'connections'>): Promise<LoadResult> {
  return runLoad({ connections: CONNECTIONS, seconds: SECONDS, ...spec }, work);
}

async function api(base: string, key: string, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// BENCH_NO_BUILD=1 profiles dist/ as it is (an experiment edited into the build).
if (process.env['BENCH_NO_BUILD'] !== '1') await new Promise<void>((resolve, reject) => {
  const build = spawn('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
  build.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}`))));
});

const database = testDatabase(engine);
const key = generateSecret('test');
const port = await freePort();
const profiles = join(work, 'profiles');
const child = spawn(process.execPath, [...startFlags(), '--cpu-prof', `--cpu-prof-dir=${profiles}`, 'dist/src/cli.js', 'serve'], {
  cwd: ROOT,
  env: { ...process.env, PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: key, PAYREQ_LOG_LEVEL: 'error', PAYREQ_DATABASE_POOL_SIZE: '10', PAYREQ_RATE_LIMIT: '0', PAYREQ_SECRET_KEY: TEST_SECRET_KEY },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const exited = new Promise((r) => child.once('exit', r));
const base = `http://127.0.0.1:${port}`;
await waitForHealthy(base, { child, output: () => '', exited: exited as Promise<number | null> }, 60_000);
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };

const shop = await api(base, key, 'POST', '/v1/parties', { type: 'legal_entity', name: 'Profile shop' });
const payee = String((await api(base, key, 'POST', '/v1/accounts', { partyId: shop.id, currency: 'USD' })).id);
const payers: string[] = [];
for (let i = 0; i < 16; i++) {
  const party = await api(base, key, 'POST', '/v1/parties', { type: 'user', username: `profile-payer-${i}` });
  const account = String((await api(base, key, 'POST', '/v1/accounts', { partyId: party.id, currency: 'USD' })).id);
  await api(base, key, 'POST', `/v1/test-helpers/accounts/${account}/fund`, { amount: '1000000000' });
  payers.push(account);
}
const createBody = (payer: string) => JSON.stringify({ amount: '10.00', currency: 'USD', payee: { accountId: payee }, payer: { accountId: payer }, expiresIn: 86_400, description: 'profile' });
const captureTo = join(work, 'created.jsonl');
await load({ base, headers, captureTo, requests: payers.map((p) => ({ method: 'POST', path: '/v1/payment-requests', body: createBody(p) })) });
const created = readFileSync(captureTo, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; payer: { accountId: string } });

let result: LoadResult;
if (operation === 'create') result = await load({ base, headers, requests: payers.map((p) => ({ method: 'POST', path: '/v1/payment-requests', body: createBody(p) })) });
else if (operation === 'get') result = await load({ base, headers, requests: created.slice(0, 5000).map((r) => ({ method: 'GET', path: `/v1/payment-requests/${r.id}` })) });
else if (operation === 'list') result = await load({ base, headers, requests: [{ method: 'GET', path: '/v1/payment-requests?limit=20' }] });
else if (operation === 'approve') result = await load({ base, headers, amount: created.length, requests: created.map((r) => ({ method: 'POST', path: `/v1/payment-requests/${r.id}/approve`, body: JSON.stringify({ accountId: r.payer.accountId }) })) });
else throw new Error(`unknown operation ${operation}`);
process.stdout.write(`${operation} on ${engine}: ${Math.round(result.rps)} req/s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors}\n`);
child.kill('SIGINT');
await exited;
await database.drop();

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
const file = readdirSync(profiles).find((f) => f.endsWith('.cpuprofile')) as string;
const profile = JSON.parse(readFileSync(join(profiles, file), 'utf8')) as { nodes: Node[]; samples: number[] };
const counts = new Map<number, number>();
for (const s of profile.samples) counts.set(s, (counts.get(s) ?? 0) + 1);
const byPackage = new Map<string, number>();
const byFunction = new Map<string, number>();
const total = profile.samples.length;
for (const node of profile.nodes) {
  const n = counts.get(node.id) ?? 0;
  if (n === 0) continue;
  const url = node.callFrame.url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.includes('/dist/') ? `payreq ${/dist\/(src\/[^/]+)/.exec(url)?.[1] ?? ''}` : url === '' ? `(${node.callFrame.functionName || 'native'})` : 'node:internal');
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + n);
  const fn = `${node.callFrame.functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^.*\/dist\//, '')}:${node.callFrame.lineNumber}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + n);
}
const top = (m: Map<string, number>, k: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, k).map(([name, n]) => `  ${((100 * n) / total).toFixed(1).padStart(5)}%  ${name}`).join('\n');
process.stdout.write(`\nself time by package (${total} samples)\n${top(byPackage, 20)}\n\nself time by function\n${top(byFunction, 30)}\n`);
