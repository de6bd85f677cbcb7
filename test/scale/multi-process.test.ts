/**
 * Many Payreq processes on one PostgreSQL database: nothing done twice, nothing lost.
 * - mixed creates, approves, cancels and declines through two processes on the same requests;
 * - SIGKILL of one process during that load;
 * - 100,000 due requests expired by two processes, one of them killed part-way.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { ApiResponse } from '../support/client.js';
import { Client } from '../support/client.js';
import { type Cluster, checkInvariants, runConcurrently, startCluster } from './cluster.js';

let cluster: Cluster | undefined;
afterEach(async () => {
  await cluster?.close();
  cluster = undefined;
});

const TERMINAL = ['paid', 'failed', 'cancelled', 'declined'];

interface World {
  payeeAccount: string;
  payerAccounts: string[];
  payerKey: string;
  payeeKey: string;
}

async function setUp(admin: Client, payers: number): Promise<World> {
  const post = async (path: string, body: unknown) => {
    const res = await admin.post(path, body);
    expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
    return res.body;
  };
  const payee = await post('/v1/parties', { type: 'legal_entity', name: 'Shop' });
  const payeeAccount = (await post('/v1/accounts', { partyId: payee.id, currency: 'USD' })).id as string;
  const payerAccounts: string[] = [];
  for (let i = 0; i < payers; i++) {
    const party = await post('/v1/parties', { type: 'user', username: `payer${i}` });
    const account = (await post('/v1/accounts', { partyId: party.id, currency: 'USD' })).id as string;
    // Enough for some requests but not all: some approvals fail with insufficient funds.
    await post(`/v1/test-helpers/accounts/${account}/fund`, { amount: '50' });
    payerAccounts.push(account);
  }
  const payerKey = (await post('/v1/api-keys', { grants: [{ permission: 'payment_requests:pay' }, { permission: 'payment_requests:read' }] })).secret as string;
  const payeeKey = (await post('/v1/api-keys', { grants: [{ permission: 'payment_requests:create' }, { permission: 'payment_requests:cancel' }, { permission: 'payment_requests:read' }] })).secret as string;
  return { payeeAccount, payerAccounts, payerKey, payeeKey };
}

/** One request's lifetime under contention: create on one node, then approve, cancel and decline at once across both. */
function scenario(c: Cluster, w: World, i: number, log: { creates: Map<string, ApiResponse>; commands: { id: string; res: ApiResponse }[] }) {
  return async (): Promise<void> => {
    const nodes = c.nodes.map((n) => ({ payee: new Client(n.url, w.payeeKey), payer: new Client(n.url, w.payerKey) }));
    const on = (k: number) => nodes[k % nodes.length] as (typeof nodes)[number];
    const payer = w.payerAccounts[i % w.payerAccounts.length] as string;
    let created: ApiResponse;
    try {
      created = await on(i).payee.post('/v1/payment-requests', { amount: '10', currency: 'USD', payee: { accountId: w.payeeAccount }, payer: { accountId: payer }, expiresIn: 3600 });
    } catch {
      return; // the node died: not a 2xx, nothing promised
    }
    if (created.status !== 201) return;
    const id = created.body.id as string;
    log.creates.set(id, created);
    const calls: [() => Promise<ApiResponse>][] = [
      [() => on(i + 1).payer.post(`/v1/payment-requests/${id}/approve`, { accountId: payer })],
      [() => on(i).payee.post(`/v1/payment-requests/${id}/cancel`)],
      [() => on(i + 1).payer.post(`/v1/payment-requests/${id}/decline`)],
      [() => on(i).payer.post(`/v1/payment-requests/${id}/approve`, { accountId: payer })],
    ];
    await Promise.all(calls.map(async ([call]) => {
      try {
        log.commands.push({ id, res: await call() });
      } catch {
        // connection lost to a killed node
      }
    }));
  };
}

describe('two processes on one PostgreSQL', () => {
  it('migrate and bootstrap once when they start together', async () => {
    cluster = await startCluster(3);
    const orgs = await cluster.store.db.selectFrom('orgs').select('id').execute();
    expect(orgs).toHaveLength(1);
    const keys = await cluster.store.db.selectFrom('api_keys').select('id').execute();
    expect(keys).toHaveLength(1);
    for (const node of cluster.nodes) expect((await node.admin.get('/v1/payment-requests')).status).toBe(200);
  });

  it('under mixed concurrent load, every request ends in exactly one terminal state and the ledger balances', async () => {
    const c = (cluster = await startCluster(2));
    const w = await setUp(c.nodes[0]!.admin, 8);
    const log = { creates: new Map<string, ApiResponse>(), commands: [] as { id: string; res: ApiResponse }[] };
    await runConcurrently(Array.from({ length: 120 }, (_, i) => scenario(c, w, i, log)), 24);

    expect(log.creates.size).toBe(120);
    const rows = await c.store.db.selectFrom('payment_requests').select(['id', 'status']).execute();
    expect(rows).toHaveLength(120);
    for (const row of rows) expect(TERMINAL).toContain(row.status);
    const terminalEvents = await c.store.db
      .selectFrom('events')
      .select(['payment_request_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('type', 'in', ['payment_request.paid', 'payment_request.failed', 'payment_request.cancelled', 'payment_request.declined'])
      .groupBy('payment_request_id')
      .execute();
    expect(terminalEvents).toHaveLength(120);
    for (const e of terminalEvents) expect(Number(e.n)).toBe(1);
    // Per request, at most one approve moved money, and a 200 always tells the final status.
    const statusOf = new Map(rows.map((r) => [r.id, r.status]));
    for (const { id, res } of log.commands) {
      expect([200, 409]).toContain(res.status);
      if (res.status === 200) expect(res.body.status).toBe(statusOf.get(id));
    }
    const paid = rows.filter((r) => r.status === 'paid').length;
    const payments = await c.store.db.selectFrom('payments').select('payment_request_id').execute();
    expect(payments).toHaveLength(paid);
    expect(new Set(payments.map((p) => p.payment_request_id)).size).toBe(paid);
    await checkInvariants(c.store);
  });

  it('keeps every 2xx when one process is killed with SIGKILL mid-load, and the survivor carries on', async () => {
    const c = (cluster = await startCluster(2));
    const w = await setUp(c.nodes[0]!.admin, 8);
    const log = { creates: new Map<string, ApiResponse>(), commands: [] as { id: string; res: ApiResponse }[] };
    const load = runConcurrently(Array.from({ length: 200 }, (_, i) => scenario(c, w, i, log)), 24);
    await new Promise((r) => setTimeout(r, 400));
    c.nodes[1]!.proc.child.kill('SIGKILL');
    await load;
    expect(await c.nodes[1]!.proc.exited).toBe(null);

    expect(log.creates.size).toBeGreaterThan(0);
    for (const [id] of log.creates) {
      const created = await c.store.db.selectFrom('events').select('id').where('payment_request_id', '=', id).where('type', '=', 'payment_request.created').execute();
      expect(created, id).toHaveLength(1);
    }
    for (const { id, res } of log.commands.filter((x) => x.res.status === 200)) {
      const row = await c.store.db.selectFrom('payment_requests').select('status').where('id', '=', id).executeTakeFirstOrThrow();
      expect(row.status).toBe(res.body.status);
    }
    await checkInvariants(c.store);
    // The survivor still serves the requests the dead one created.
    const survivor = new Client(c.nodes[0]!.url, w.payeeKey);
    const pending = await c.store.db.selectFrom('payment_requests').select('id').where('status', '=', 'pending').execute();
    for (const { id } of pending) expect((await survivor.post(`/v1/payment-requests/${id}/cancel`)).status).toBe(200);
  });
});

describe('webhooks across processes', () => {
  it('delivers each event once when two processes dispatch from one database', async () => {
    const { startReceiver } = await import('../support/receiver.js');
    const receiver = await startReceiver();
    try {
      const c = (cluster = await startCluster(2, { PAYREQ_WEBHOOK_POLL_INTERVAL_MS: '20' }));
      expect((await c.nodes[0]!.admin.post('/v1/webhook-endpoints', { url: `${receiver.url}/hooks` })).status).toBe(201);
      const party = (await c.nodes[0]!.admin.post('/v1/parties', { type: 'user', username: 'hooks' })).body;
      const account = (await c.nodes[0]!.admin.post('/v1/accounts', { partyId: party.id, currency: 'USD' })).body;
      await runConcurrently(Array.from({ length: 300 }, (_, i) => async () => {
        const res = await c.nodes[i % 2]!.admin.post('/v1/payment-requests', { amount: '1', currency: 'USD', payee: { accountId: account.id }, expiresIn: 600 });
        expect(res.status).toBe(201);
      }), 16);
      await receiver.waitFor((r) => r.length >= 300, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      const ids = receiver.received.map((r) => r.id);
      expect(ids).toHaveLength(300);
      expect(new Set(ids).size).toBe(300);
      const attempts = await c.store.db.selectFrom('webhook_attempts').select('id').execute();
      expect(attempts).toHaveLength(300);
    } finally {
      await receiver.close();
    }
  });
});

describe('expiry across processes', () => {
  it('expires 100,000 due requests once each, with one event each, though one sweeper is killed part-way', async () => {
    const c = (cluster = await startCluster(2, { PAYREQ_EXPIRY_SWEEP_INTERVAL_MS: '3600000' }));
    const admin = c.nodes[0]!.admin;
    const party = (await admin.post('/v1/parties', { type: 'user', username: 'bulk' })).body;
    const account = (await admin.post('/v1/accounts', { partyId: party.id, currency: 'USD' })).body;
    const org = await c.store.db.selectFrom('orgs').select('id').executeTakeFirstOrThrow();
    const total = 100_000;
    const past = Date.now() - 60_000;
    // Bulk-load due requests (each with its created event) straight into the database.
    await sql`
      insert into payment_requests (id, org_id, mode, status, amount, currency, payee_account_id, payee_party_id, payment_options, expires_at,
        amount_paid, amount_refunded, code, payment_reference, salt, sequence, created_at, updated_at)
      select gen_random_uuid()::text, ${org.id}, 'test', 'pending', 1000, 'USD', ${account.id}, ${party.id}, '[{"currency":"USD","amount":"1000","rate":"1"}]',
        ${past}, 0, 0, 'BULK-' || g, lpad(to_hex(g), 16, '0'), 'salt', 1, ${past - 3_600_000}, ${past - 3_600_000}
      from generate_series(1, ${total}) g`.execute(c.store.db);
    await sql`insert into events (id, org_id, mode, payment_request_id, type, sequence, data, created_at)
      select gen_random_uuid()::text, org_id, mode, id, 'payment_request.created', 1, '{}', created_at from payment_requests where code like 'BULK-%'`.execute(c.store.db);

    // Restart both with a fast sweeper so they sweep the same backlog at once.
    await c.restart({ PAYREQ_EXPIRY_SWEEP_INTERVAL_MS: '20' });
    const again = c;
    const pendingCount = async () => Number((await again.store.db.selectFrom('payment_requests').select((eb) => eb.fn.countAll().as('n')).where('status', '=', 'pending').executeTakeFirstOrThrow()).n);
    const deadline = Date.now() + 240_000;
    let killed = false;
    while (Date.now() < deadline) {
      const left = await pendingCount();
      if (!killed && left < total * 0.7) {
        again.nodes[1]!.proc.child.kill('SIGKILL');
        killed = true;
      }
      if (left === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(killed).toBe(true);
    expect(await pendingCount()).toBe(0);
    const expired = await again.store.db
      .selectFrom('events')
      .select([(eb) => eb.fn.countAll().as('n'), (eb) => eb.fn.count('payment_request_id').distinct().as('requests')])
      .where('type', '=', 'payment_request.expired')
      .executeTakeFirstOrThrow();
    expect(Number(expired.n)).toBe(total);
    expect(Number(expired.requests)).toBe(total);
    await checkInvariants(again.store);
  }, 300_000);
});

