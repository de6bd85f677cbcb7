/**
 * `npm run demo`: starts a Payreq server on a fresh SQLite file and runs the Pismo
 * birthday-present sample (https://developers.pismo.io/pismo-docs/reference/post-payments-v1-payment-requests) end to end over HTTP, printing
 * each step. Exits 0 when every step answered as expected.
 *
 * Pismo's sample: account 6789 asks account 8795 for 25.50 USD, "David's birthday present",
 * with an expiration; the token (`code`) in the answer is what the payer confirms with; then
 * the requests sent to 6789 are listed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSecret } from '../src/app/api-keys.js';
import { freePort, spawnPayreq, waitForHealthy } from './lib/process.js';

const dir = mkdtempSync(join(tmpdir(), 'payreq-demo-'));
const key = generateSecret('test');
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: `sqlite:${join(dir, 'demo.db')}`, PAYREQ_BOOTSTRAP_API_KEY: key });

let step = 0;
async function call(title: string, method: string, path: string, body: unknown, expectStatus: number): Promise<Record<string, unknown>> {
  step += 1;
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  console.log(`\n${step}. ${title}\n   ${method} ${path} → ${res.status}`);
  if (body !== undefined) console.log(`   sent:     ${JSON.stringify(body)}`);
  if (res.status !== expectStatus) {
    console.log(`   answered: ${JSON.stringify(json, null, 2)}`);
    throw new Error(`step ${step} answered ${res.status}, expected ${expectStatus}`);
  }
  return json;
}

function show(label: string, value: unknown): void {
  console.log(`   ${label.padEnd(9)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

try {
  await waitForHealthy(base, server);
  console.log(`Payreq is running at ${base} (SQLite file in ${dir})`);

  const ana = await call('Ana joins (she is collecting for David\'s present)', 'POST', '/v1/parties', { type: 'user', username: 'ana', phone: '+14155550101' }, 201);
  const ben = await call('Ben joins (he will chip in)', 'POST', '/v1/parties', { type: 'user', username: 'ben', phone: '+14155550102' }, 201);
  const anaAccount = await call('Ana opens a USD account (Pismo account 6789)', 'POST', '/v1/accounts', { partyId: ana.id, currency: 'USD' }, 201);
  const benAccount = await call('Ben opens a USD account (Pismo account 8795)', 'POST', '/v1/accounts', { partyId: ben.id, currency: 'USD' }, 201);
  await call('Test mode: Ben\'s account is funded with 100 USD', 'POST', `/v1/test-helpers/accounts/${String(benAccount.id)}/fund`, { amount: '100.00' }, 200);

  const expiration = new Date(Date.now() + 7 * 86_400_000).toISOString();
  const request = await call('Ana asks Ben for 25.50 USD for David\'s birthday present', 'POST', '/v1/payment-requests', {
    amount: '25.50',
    currency: 'USD',
    payee: { accountId: anaAccount.id },
    payer: { accountId: benAccount.id },
    expiresAt: expiration,
    metadata: { message: "David's birthday present" },
  }, 201);
  show('status', request.status);
  show('code', request.code);
  show('link', request.paymentLink);

  const found = await call('Ben\'s app finds the request by its code', 'GET', `/v1/payment-requests?code=${String(request.code)}`, undefined, 200);
  show('found', (found.data as { id: string; amount: string; metadata: unknown }[]).map((r) => `${r.amount} USD ${JSON.stringify(r.metadata)}`));

  const paid = await call('Ben accepts and pays from his balance', 'POST', `/v1/payment-requests/${String(request.id)}/approve`, { accountId: benAccount.id }, 200);
  show('status', paid.status);
  show('paidAt', paid.paidAt);
  if (paid.status !== 'paid') throw new Error(`expected paid, got ${String(paid.status)}`);

  const anaAfter = await call('Ana\'s balance', 'GET', `/v1/accounts/${String(anaAccount.id)}`, undefined, 200);
  show('balance', `${String(anaAfter.balance)} USD`);
  const benAfter = await call('Ben\'s balance', 'GET', `/v1/accounts/${String(benAccount.id)}`, undefined, 200);
  show('balance', `${String(benAfter.balance)} USD`);

  const sent = await call('Requests sent to Ana\'s account (Pismo\'s ?to=6789)', 'GET', `/v1/payment-requests?payeeAccountId=${String(anaAccount.id)}`, undefined, 200);
  show('list', (sent.data as { status: string; amount: string }[]).map((r) => `${r.amount} USD ${r.status.toUpperCase()}`));

  const events = await call('What happened, in order', 'GET', `/v1/payment-requests/${String(request.id)}/events`, undefined, 200);
  for (const e of events.data as { sequence: number; type: string }[]) show(`#${e.sequence}`, e.type);

  console.log('\nDemo finished: the request was created, paid and settled on the ledger.');
} finally {
  server.child.kill('SIGTERM');
  await server.exited;
  rmSync(dir, { recursive: true, force: true });
}
