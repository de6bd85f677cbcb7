/**
 * The `payreq` binary as a process against a real server: keys, parties, accounts, requests
 * (tables and `--json`), exit codes, `events tail`, and `webhooks listen` forwarding to a real
 * receiver that verifies each delivery with the secret the command printed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PayreqRun, ROOT, runPayreq } from '../../scripts/lib/process.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

let t: TestServer;
let receiver: Receiver;
const children: ChildProcess[] = [];
beforeAll(async () => {
  t = await startTestServer();
  receiver = await startReceiver();
});
afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await t.close();
  await receiver.close();
});

const env = () => ({ ...process.env, PAYREQ_URL: t.url, PAYREQ_API_KEY: t.adminKey });

/**
 * Runs `payreq …` to completion. Asynchronously: the server under test runs in this process,
 * and a synchronous spawn would keep it from answering.
 */
function run(args: string[], environment: NodeJS.ProcessEnv = env()): Promise<PayreqRun> {
  return runPayreq(args, environment);
}
const payreq = (...args: string[]) => run(args);
async function json(...args: string[]) {
  const result = await payreq('--json', ...args);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Record<string, unknown> & { id: string };
}

/** Starts a long-running `payreq …` and collects its output lines. */
function follow(...args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env: env() });
  children.push(child);
  const lines: string[] = [];
  let buffer = '';
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  return { child, lines };
}

describe('payreq (the CLI)', () => {
  // Each call is a new process (about a second each under tsx), so these tests get more time.
  it('creates parties, accounts, keys and requests; prints tables or JSON; exits non-zero on refusals', { timeout: 180_000 }, async () => {
    const ana = await json('parties', 'create', '--type', 'user', '--username', 'cli-ana');
    const ben = await json('parties', 'create', '--type', 'user', '--username', 'cli-ben');
    const anaAccount = await json('accounts', 'create', '--party', ana.id, '--currency', 'USD');
    const benAccount = await json('accounts', 'create', '--party', ben.id, '--currency', 'USD');
    const funded = await payreq('accounts', 'fund', benAccount.id, '50');
    expect(funded.status).toBe(0);
    expect(funded.stdout).toMatch(/^ID\s+CURRENCY\s+BALANCE\n/);
    expect(funded.stdout).toContain('50.00');

    const key = await json('keys', 'create', '--grant', `payment_requests:read:party:${ana.id}`, '--grant', 'payment_requests:create', '--name', 'cli key');
    expect(key.secret).toMatch(/^prq_test_/);
    expect(key['grants']).toEqual([{ permission: 'payment_requests:read', partyId: ana.id }, { permission: 'payment_requests:create' }]);

    const pr = await json('requests', 'create', '--amount', '12.5', '--currency', 'USD', '--payee', anaAccount.id, '--payer-username', 'cli-ben', '--description', 'Lunch');
    expect(pr).toMatchObject({ status: 'pending', amount: '12.50', description: 'Lunch' });
    const table = await payreq('requests', 'get', pr.id);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NUMBER\s+STATUS\s+AMOUNT\s+CURRENCY/);
    expect(table.stdout).toContain(pr.id);
    expect((await json('requests', 'approve', pr.id, '--account', benAccount.id)).status).toBe('paid');
    const list = (await json('requests', 'list', '--status', 'paid', '--limit', '5')) as unknown as { data: { id: string }[] };
    expect(list.data.map((r) => r.id)).toContain(pr.id);

    const other = await json('requests', 'create', '--amount', '1', '--currency', 'USD', '--payee', anaAccount.id);
    expect((await json('requests', 'cancel', other.id)).status).toBe('cancelled');
    const again = await payreq('requests', 'cancel', pr.id);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('409 invalid_transition');
    const invalid = await payreq('requests', 'create', '--amount', '1.234', '--currency', 'USD', '--payee', anaAccount.id);
    expect(invalid.status).toBe(1);
    expect(invalid.stderr).toMatch(/422 invalid_amount[\s\S]*amount:/);
    expect((await payreq('requests', 'create', '--amount', '1')).status).toBe(2);
    expect((await payreq('events', 'tail', '--types', 'no.such')).status).toBe(2);
    const noKey = await run(['requests', 'list'], { ...process.env, PAYREQ_URL: t.url, PAYREQ_API_KEY: '' });
    expect(noKey.status).toBe(2);
    const down = await run(['requests', 'list'], { ...process.env, PAYREQ_URL: 'http://127.0.0.1:9', PAYREQ_API_KEY: t.adminKey });
    expect(down.status).toBe(1);
    expect(down.stderr).toContain('cannot reach the Payreq server');
  });

  it('tails events one readable line each, and forwards them signed with `webhooks listen`', { timeout: 180_000 }, async () => {
    const party = await json('parties', 'create', '--type', 'user', '--username', 'cli-tail');
    const account = await json('accounts', 'create', '--party', party.id, '--currency', 'USD');
    const tail = follow('events', 'tail', '--party', party.id);
    const listen = follow('webhooks', 'listen', '--forward-to', `${receiver.url}/local-hook`, '--party', party.id);
    await waitUntil(() => listen.lines.some((l) => l.startsWith('Signing secret')), 20_000, 'the listener to start');
    const secret = /(whsec_\S+)/.exec(listen.lines.find((l) => l.startsWith('Signing secret')) ?? '')?.[1] as string;
    await new Promise((resolve) => setTimeout(resolve, 1500)); // both streams connected
    const pr = await json('requests', 'create', '--amount', '3', '--currency', 'USD', '--payee', account.id);
    await json('requests', 'cancel', pr.id);
    await waitUntil(() => tail.lines.filter((l) => l.includes(pr.id)).length >= 2, 20_000, 'two tailed lines');
    expect(tail.lines.find((l) => l.includes('payment_request.cancelled'))).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+payment_request\\.cancelled\\s+${pr.id}\\s+cancelled 0\\.00/3\\.00 USD$`));
    await receiver.waitFor((r) => r.filter((x) => x.path === '/local-hook' && x.json?.data?.id === pr.id).length >= 2, 20_000);
    const forwarded = receiver.received.filter((x) => x.path === '/local-hook' && x.json?.data?.id === pr.id);
    expect(forwarded.map((x) => x.json.type)).toEqual(['payment_request.created', 'payment_request.cancelled']);
    for (const delivery of forwarded) expect(() => receiver.verify(delivery, secret)).not.toThrow();
    expect(() => receiver.verify({ ...(forwarded[0] as (typeof forwarded)[number]), body: (forwarded[0]?.body ?? '').replace('3.00', '4.00') }, secret)).toThrow();
    await waitUntil(() => listen.lines.filter((l) => / -> 200 \(\d+ ms\)$/.test(l)).length >= 2, 10_000, 'the listener to show each delivery');
  });

  it('reports `webhooks listen --json` as JSON lines: the secret, then each delivery', { timeout: 180_000 }, async () => {
    const party = await json('parties', 'create', '--type', 'user', '--username', 'cli-listen-json');
    const account = await json('accounts', 'create', '--party', party.id, '--currency', 'USD');
    const listen = follow('--json', 'webhooks', 'listen', '--forward-to', `${receiver.url}/json-hook`, '--party', party.id);
    await waitUntil(() => listen.lines.length >= 1, 20_000, 'the listener to start');
    const first = JSON.parse(listen.lines[0] as string) as { forwardTo: string; secret: string };
    expect(first).toEqual({ forwardTo: `${receiver.url}/json-hook`, secret: expect.stringMatching(/^whsec_/) });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the stream connected
    const pr = await json('requests', 'create', '--amount', '2', '--currency', 'USD', '--payee', account.id);
    await waitUntil(() => listen.lines.length >= 2, 20_000, 'a delivery line');
    const delivery = JSON.parse(listen.lines[1] as string) as Record<string, unknown>;
    expect(delivery).toEqual({ eventId: expect.stringMatching(/^evt_|^[0-9a-f-]{36}$/), type: 'payment_request.created', status: 200, ms: expect.any(Number) });
    const received = receiver.received.find((x) => x.path === '/json-hook' && x.json?.data?.id === pr.id);
    expect(received?.id).toBe(delivery['eventId']);
    expect(() => receiver.verify(received as NonNullable<typeof received>, first.secret)).not.toThrow();
  });
});
