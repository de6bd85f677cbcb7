/**
 * The SDK (`sdk/`) against a real server, through the SDK only: a full flow (parties, accounts,
 * a request approved and refunded, events, webhooks verified into typed events), retries that
 * reuse one Idempotency-Key behind a proxy answering 503, connection errors, typed errors, the
 * live stream resumed with Last-Event-ID, and the drift test of the generated types.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES as SERVER_EVENT_TYPES } from '../../src/domain/payment-request.js';
import { createClient, EVENT_TYPES, PayreqConnectionError, PayreqError, verifyWebhook, type WebhookEvent } from '../../sdk/src/index.js';
import { SDK_TYPES_PATH, sdkTypesSource } from '../../scripts/lib/sdk-types.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let receiver: Receiver;
beforeAll(async () => {
  t = await startTestServer();
  receiver = await startReceiver();
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

describe('the SDK', () => {
  it('drives a whole flow and verifies its webhooks into typed events', async () => {
    const payreq = createClient({ baseUrl: t.url, apiKey: t.adminKey });
    const endpoint = await payreq.webhookEndpoints.create({ url: `${receiver.url}/sdk` });
    const ana = await payreq.parties.create({ type: 'user', username: 'sdk-ana' });
    const ben = await payreq.parties.create({ type: 'user', username: 'sdk-ben' });
    const anaAccount = await payreq.accounts.create({ partyId: ana.id, currency: 'USD' });
    const benAccount = await payreq.accounts.create({ partyId: ben.id, currency: 'USD' });
    expect((await payreq.accounts.fund(benAccount.id, '100')).balance).toBe('100.00');
    const pr = await payreq.paymentRequests.create({ amount: '25.50', currency: 'USD', payee: { accountId: anaAccount.id }, payer: { username: 'sdk-ben' }, expiresIn: 3600 });
    expect(pr).toMatchObject({ status: 'pending', amount: '25.50' });
    const paid = await payreq.paymentRequests.approve(pr.id, { accountId: benAccount.id });
    expect(paid.status).toBe('paid');
    const refund = await payreq.paymentRequests.refund(pr.id, { amount: '5.50', reason: 'one item missing' });
    expect(refund).toMatchObject({ amount: '5.50', paymentRequest: { amountRefunded: '5.50' } });
    expect((await payreq.accounts.get(benAccount.id)).balance).toBe('80.00');
    const events = await payreq.paymentRequests.events(pr.id);
    expect(events.data.map((e) => e.type)).toEqual(['payment_request.created', 'payment_request.processing', 'payment.received', 'payment_request.paid', 'refund.created', 'refund.completed']);
    expect((await payreq.events.list({ limit: 3 })).data).toHaveLength(3);

    const refused = await payreq.paymentRequests.approve(pr.id, { accountId: anaAccount.id }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(PayreqError);
    expect((refused as PayreqError).status).toBe(422);
    expect((refused as PayreqError).problem).toMatchObject({ code: 'account_not_allowed', type: '/docs/errors#account_not_allowed' });

    await receiver.waitFor((r) => r.filter((x) => x.json?.data?.id === pr.id).length === 6);
    const typed: WebhookEvent[] = receiver.received.filter((x) => x.json?.data?.id === pr.id).map((x) => verifyWebhook(x.body, x.headers, endpoint.secret as string));
    const completed = typed.find((e) => e.type === 'refund.completed');
    // The union narrows: a refund event carries `refund`, a payment event `payment`.
    expect(completed?.type === 'refund.completed' ? completed.data.refund.amount : undefined).toBe('5.50');
    const received = typed.find((e) => e.type === 'payment.received');
    expect(received?.type === 'payment.received' ? received.data.payment.rail : undefined).toBe('ledger');
    const tampered = receiver.received.find((x) => x.json?.data?.id === pr.id);
    expect(() => verifyWebhook((tampered?.body ?? '').replace('25.50', '25.51'), tampered?.headers ?? {}, endpoint.secret as string)).toThrow();
  });

  it('retries 503s and 429s with one Idempotency-Key per call, and gives up on a dead server', async () => {
    const keys: string[] = [];
    let refusals = 2;
    const proxy: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'POST') keys.push(String(req.headers['idempotency-key']));
        if (req.method === 'POST' && refusals > 0) {
          refusals -= 1;
          res.writeHead(refusals === 1 ? 503 : 429, { 'retry-after': '0', 'content-type': 'application/problem+json' }).end('{"code":"service_unavailable"}');
          return;
        }
        void fetch(`${t.url}${req.url ?? ''}`, { method: req.method ?? 'GET', headers: req.headers as Record<string, string>, ...(chunks.length > 0 ? { body: Buffer.concat(chunks) } : {}) }).then(async (upstream) => {
          res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await upstream.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    try {
      const payreq = createClient({ baseUrl: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, apiKey: t.adminKey, retryBaseMs: 10 });
      const party = await payreq.parties.create({ type: 'legal_entity', name: 'Retry Shop' });
      expect(keys).toHaveLength(3);
      expect(new Set(keys).size).toBe(1);
      expect((await createClient({ baseUrl: t.url, apiKey: t.adminKey }).parties.get(party.id)).name).toBe('Retry Shop');
      await payreq.parties.create({ type: 'legal_entity', name: 'Second' });
      expect(new Set(keys).size).toBe(2);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
    const dead = createClient({ baseUrl: 'http://127.0.0.1:9', apiKey: t.adminKey, maxRetries: 2, retryBaseMs: 5 });
    await expect(dead.parties.get('x')).rejects.toBeInstanceOf(PayreqConnectionError);
  });

  it('streams live events as an async iterator and resumes with Last-Event-ID', async () => {
    const payreq = createClient({ baseUrl: t.url, apiKey: t.adminKey });
    const payee = await payreq.parties.create({ type: 'user', username: 'sdk-streamer' });
    const account = await payreq.accounts.create({ partyId: payee.id, currency: 'USD' });
    const controller = new AbortController();
    const seen: string[] = [];
    // Without Last-Event-ID the stream starts at "now": open it, then make the news.
    const stream = payreq.events.stream({ partyId: payee.id, signal: controller.signal })[Symbol.asyncIterator]();
    const next = stream.next();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const first = await payreq.paymentRequests.create({ amount: '1', currency: 'USD', payee: { accountId: account.id }, expiresIn: 600 });
    for (let result = await next; !result.done; result = await stream.next()) {
      seen.push(`${result.value.type} ${result.value.paymentRequestId ?? ''}`);
      if (result.value.paymentRequestId === first.id) break;
    }
    controller.abort();
    expect(seen).toContain(`payment_request.created ${first.id}`);
    const lastId = (await payreq.paymentRequests.events(first.id)).data[0]?.id as string;
    await payreq.paymentRequests.cancel(first.id);
    const second = await payreq.paymentRequests.create({ amount: '2', currency: 'USD', payee: { accountId: account.id }, expiresIn: 600 });
    const resumed: string[] = [];
    for await (const event of payreq.events.stream({ partyId: payee.id, lastEventId: lastId, types: ['payment_request.cancelled', 'payment_request.created'] })) {
      resumed.push(`${event.type} ${event.paymentRequestId ?? ''}`);
      if (resumed.length === 2) break;
    }
    expect(resumed).toEqual([`payment_request.cancelled ${first.id}`, `payment_request.created ${second.id}`]);
  });

  it('has generated types that match the server\'s /openapi.json, and the server\'s event types', async () => {
    const document = (await (await fetch(`${t.url}/openapi.json`)).json()) as object;
    expect(readFileSync(SDK_TYPES_PATH, 'utf8'), 'sdk/src/openapi.ts is stale: run npm run sdk:generate').toBe(await sdkTypesSource(document));
    expect([...EVENT_TYPES]).toEqual([...SERVER_EVENT_TYPES]);
  });
});
