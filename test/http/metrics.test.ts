/**
 * `GET /metrics`: Prometheus text that an independent parser (`parse-prometheus-text-format`, a
 * port of the Prometheus Python client's) reads, and figures that move when requests are made,
 * events committed, webhooks delivered or left pending, expiries overdue and a chain watched.
 */
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain, type TestChain } from '../support/chain.js';
import { Client } from '../support/client.js';
import { chainOverrides } from '../support/evm.js';
import { createRequest, createUserWithAccount } from '../support/factories.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

let chain: TestChain;
let t: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  chain = await startTestChain();
  t = await startTestServer({ ...chainOverrides(chain), expirySweepIntervalMs: 3_600_000 });
  receiver = await startReceiver();
});
afterAll(async () => {
  await t.close();
  await receiver.close();
  await chain.close();
});

async function text(): Promise<string> {
  const res = await new Client(t.url, undefined).get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.body as string;
}

async function scrape() {
  return parsePrometheusTextFormat(await text());
}

/**
 * The value of the sample `name` whose labels include `labels` (0 when absent); for a histogram
 * pass `name_count`. Read from the text lines (the parser above drops a histogram's labels).
 */
async function value(name: string, labels: Record<string, string> = {}): Promise<number> {
  for (const line of (await text()).split('\n')) {
    const match = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/i.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/gi)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return 0;
}

describe('/metrics', () => {
  it('parses as Prometheus text with every Payreq family typed', async () => {
    const families = await scrape();
    const types = Object.fromEntries(families.map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      payreq_http_request_duration_seconds: 'HISTOGRAM',
      payreq_events_total: 'COUNTER',
      payreq_webhook_attempts_total: 'COUNTER',
      payreq_webhook_delivery_lag_seconds: 'HISTOGRAM',
      payreq_webhook_outbox_backlog: 'GAUGE',
      payreq_expiry_sweeper_lag_seconds: 'GAUGE',
      payreq_chain_watcher_lag_blocks: 'GAUGE',
      process_cpu_user_seconds_total: 'COUNTER',
    });
  });

  it('moves with requests, events, webhook deliveries, the backlog, overdue expiries and the chain', async () => {
    const route = { method: 'POST', route: '/v1/payment-requests', status: '201' };
    const before = { http: await value('payreq_http_request_duration_seconds_count', route), created: await value('payreq_events_total', { type: 'payment_request.created' }) };
    const ok = await t.admin.post('/v1/webhook-endpoints', { url: `${receiver.url}/ok` });
    expect(ok.status).toBe(201);
    const payee = await createUserWithAccount(t.admin);
    await createRequest(t.admin, payee.accountId);
    await createRequest(t.admin, payee.accountId);
    expect(await value('payreq_http_request_duration_seconds_count', route)).toBe(before.http + 2);
    expect(await value('payreq_events_total', { type: 'payment_request.created' })).toBe(before.created + 2);
    await waitUntil(async () => (await value('payreq_webhook_attempts_total', { format: 'standard', outcome: 'delivered' })) >= 2, 10_000, 'two deliveries');
    expect(await value('payreq_webhook_delivery_lag_seconds_count')).toBeGreaterThanOrEqual(2);

    // A receiver that keeps failing leaves deliveries pending: the backlog grows, attempts say retrying.
    receiver.answer = (r) => ({ status: r.path === '/down' ? 500 : 200 });
    expect((await t.admin.post('/v1/webhook-endpoints', { url: `${receiver.url}/down` })).status).toBe(201);
    await createRequest(t.admin, payee.accountId);
    await waitUntil(async () => (await value('payreq_webhook_attempts_total', { format: 'standard', outcome: 'retrying' })) >= 1, 10_000, 'a retry');
    expect(await value('payreq_webhook_outbox_backlog')).toBeGreaterThanOrEqual(1);

    // The sweeper runs hourly here: a request past its expiry shows as lag.
    await createRequest(t.admin, payee.accountId, { expiresIn: 60 });
    t.clock.advance(90_000);
    expect(await value('payreq_expiry_sweeper_lag_seconds')).toBeGreaterThanOrEqual(29);

    // The chain watcher reports how far its cursor was behind the head.
    await chain.mine(5);
    await waitUntil(async () => (await scrape()).some((f) => f.name === 'payreq_chain_watcher_lag_blocks' && f.metrics.some((m) => m.labels?.['chain_id'] === '31337')), 10_000, 'a chain lag sample');
  });
});
