/**
 * Webhook delivery over real HTTP to a real receiver, every signature verified with the
 * `standardwebhooks` package: each event once to each matching endpoint and never to others,
 * and each failure mode on its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WITHHELD_ERROR } from '../../src/webhooks/http-delivery.js';
import { Client } from '../support/client.js';
import { createRequest, createUserWithAccount, unique } from '../support/factories.js';
import { type Receiver, type Received, startReceiver } from '../support/receiver.js';
import { FAST_WEBHOOKS, startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

let t: TestServer;
const receivers: Receiver[] = [];
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
  for (const r of receivers) await r.close();
});

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  receivers.push(r);
  return r;
}

async function endpoint(server: TestServer, url: string, enabledEvents?: string[]): Promise<{ id: string; secret: string }> {
  const res = await server.admin.post('/v1/webhook-endpoints', { url, ...(enabledEvents ? { enabledEvents } : {}), description: 'test' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{40,}={0,2}$/);
  return { id: res.body.id, secret: res.body.secret };
}

async function deliveries(server: TestServer, endpointId: string) {
  const res = await server.admin.get(`/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`);
  expect(res.status).toBe(200);
  return res.body.data as { eventId: string; status: string; attempts: { statusCode: number | null; error: string | null; createdAt: string }[] }[];
}

const of = (received: Received[], requestId: string) => received.filter((r) => r.json?.data?.id === requestId);

describe('webhook delivery', () => {
  it('delivers one request\'s events to an endpoint in sequence order: a later one waits while an earlier one retries', async () => {
    const r = await receiver();
    r.answer = (_req, index) => ({ status: index === 0 ? 500 : 200 });
    await endpoint(t, `${r.url}/ordered`);
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '15');
    const pr = await createRequest(t.admin, payee.accountId, { payer: { accountId: payer.accountId } });
    await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: payer.accountId });
    await r.waitFor((all) => of(all, pr.id).some((x) => x.json.type === 'payment_request.paid'));
    // The created event failed once and was retried; the approval's three events waited for it.
    expect(of(r.received, pr.id).map((x) => x.json.data.sequence)).toEqual([1, 1, 2, 3, 4]);
  });

  it('delivers every transition\'s event once to each matching endpoint, signed, and never to others', async () => {
    const all = await receiver();
    const paidOnly = await receiver();
    const cancelledOnly = await receiver();
    const a = await endpoint(t, `${all.url}/hooks`);
    const b = await endpoint(t, `${paidOnly.url}/hooks`, ['payment_request.paid']);
    const c = await endpoint(t, `${cancelledOnly.url}/hooks`, ['payment_request.cancelled']);

    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '15');
    const paid = await createRequest(t.admin, payee.accountId, { payer: { accountId: payer.accountId } });
    await t.admin.post(`/v1/payment-requests/${paid.id}/approve`, { accountId: payer.accountId });
    await t.admin.post(`/v1/payment-requests/${paid.id}/refunds`, { amount: '10' });
    // A request ends failed only on DeltaPay's approve (a named payer without the funds); /v1 refuses and leaves it pending.
    const failed = await createRequest(t.admin, payee.accountId, { amount: '20', payer: { accountId: payer.accountId } });
    expect((await t.admin.post(`/v1/payment-requests/${failed.id}/approve`, { accountId: payer.accountId })).status).toBe(409);
    const payerNumber = (await t.admin.get(`/v1/accounts/${payer.accountId}`)).body.number as number;
    const dp = await new Client(`${t.url}/compat/deltapay`, undefined).post('/payment-request/approve', { payment_request_id: failed.number, account_id: payerNumber }, { 'x-api-key': t.adminKey });
    expect(dp.body.payment_request_status).toBe('failed');
    const cancelled = await createRequest(t.admin, payee.accountId);
    await t.admin.post(`/v1/payment-requests/${cancelled.id}/cancel`);
    const declined = await createRequest(t.admin, payee.accountId, { payer: { partyId: payer.partyId } });
    await t.admin.post(`/v1/payment-requests/${declined.id}/decline`);
    const external = await createRequest(t.admin, payee.accountId, { amount: '10' });
    await t.admin.post(`/v1/payment-requests/${external.id}/payments`, { amount: '4', reference: unique('ext') });
    const expired = await createRequest(t.admin, payee.accountId, { expiresIn: 60 });
    t.clock.advance(61_000);
    expect((await t.admin.get(`/v1/payment-requests/${expired.id}`)).body.status).toBe('expired');

    const expected: Record<string, string[]> = {
      [paid.id]: ['payment_request.created', 'payment_request.processing', 'payment.received', 'payment_request.paid', 'refund.created', 'refund.completed', 'payment_request.refunded'],
      [failed.id]: ['payment_request.created', 'payment_request.processing', 'payment_request.failed'],
      [cancelled.id]: ['payment_request.created', 'payment_request.cancelled'],
      [declined.id]: ['payment_request.created', 'payment_request.declined'],
      [external.id]: ['payment_request.created', 'payment.received'],
      [expired.id]: ['payment_request.created', 'payment_request.expired'],
    };
    const total = Object.values(expected).flat().length;
    await all.waitFor((r) => r.length >= total);
    await new Promise((r) => setTimeout(r, 300)); // anything extra would have arrived by now
    const wanted = Object.entries(expected).flatMap(([id, types]) => types.map((type, i) => `${type} ${id} #${i + 1}`));
    expect(all.received.map((r) => `${r.json.type} ${r.json.data.id} #${r.json.data.sequence}`).sort()).toEqual(wanted.sort());
    expect(all.received).toHaveLength(total);
    for (const [id, types] of Object.entries(expected)) {
      const got = of(all.received, id).sort((x, y) => x.json.data.sequence - y.json.data.sequence);
      expect(got.map((r) => r.json.type)).toEqual(types);
      expect(got.map((r) => r.json.data.sequence)).toEqual(types.map((_, i) => i + 1));
    }
    expect(new Set(all.received.map((r) => r.id)).size).toBe(total);
    for (const r of all.received) {
      expect(() => all.verify(r, a.secret)).not.toThrow();
      expect(() => all.verify(r, b.secret)).toThrow();
      expect(r.json).toMatchObject({ type: expect.any(String), timestamp: expect.any(String), data: { object: 'payment_request' } });
    }
    const paidEvent = all.received.find((r) => r.json.type === 'payment_request.paid');
    expect(paidEvent?.json.data).toMatchObject({ id: paid.id, status: 'paid', amount: '10.00', amountPaid: '10.00' });
    const receivedEvent = of(all.received, external.id).find((r) => r.json.type === 'payment.received');
    expect(receivedEvent?.json.data.payment).toMatchObject({ amount: '4.00', rail: 'external' });

    await paidOnly.waitFor((r) => r.length >= 1);
    await cancelledOnly.waitFor((r) => r.length >= 1);
    expect(paidOnly.received.map((r) => [r.json.type, r.json.data.id])).toEqual([['payment_request.paid', paid.id]]);
    expect(cancelledOnly.received.map((r) => [r.json.type, r.json.data.id])).toEqual([['payment_request.cancelled', cancelled.id]]);
    expect(() => paidOnly.verify(paidOnly.received[0] as Received, b.secret)).not.toThrow();
    expect(() => cancelledOnly.verify(cancelledOnly.received[0] as Received, c.secret)).not.toThrow();
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${a.id}`);
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${b.id}`);
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${c.id}`);
  });
});

describe('webhook failure modes', () => {
  async function oneEvent(server: TestServer = t): Promise<string> {
    const payee = await createUserWithAccount(server.admin);
    return (await createRequest(server.admin, payee.accountId)).id as string;
  }

  it('retries a receiver that answers 500, with the same webhook-id, until it recovers', async () => {
    const r = await receiver();
    r.answer = (_req, i) => ({ status: i < 2 ? 500 : 200, body: i < 2 ? `boom ${'x'.repeat(5000)}` : 'ok' });
    const e = await endpoint(t, r.url);
    const id = await oneEvent();
    await r.waitFor((got) => got.length >= 3);
    expect(new Set(r.received.map((x) => x.id)).size).toBe(1);
    for (const x of r.received) expect(() => r.verify(x, e.secret)).not.toThrow();
    await waitUntil(async () => (await deliveries(t, e.id))[0]?.status === 'succeeded');
    const [d] = await deliveries(t, e.id);
    expect(d?.attempts.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    const logged = (await t.admin.get(`/v1/webhook-endpoints/${e.id}/deliveries`)).body.data[0].attempts;
    // A loopback receiver's answer is never logged (test/http/webhook-ssrf.test.ts: what a public one's keeps).
    expect(logged.map((a: { responseBody: string | null }) => a.responseBody)).toEqual([null, null, null]);
    expect(logged.every((a: { durationMs: number }) => a.durationMs >= 0)).toBe(true);
    expect(r.received[0]?.json.data.id).toBe(id);
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${e.id}`);
  });

  it('retries a receiver that times out', async () => {
    const r = await receiver();
    r.answer = (_req, i) => ({ status: 200, delayMs: i === 0 ? FAST_WEBHOOKS.timeoutMs + 500 : 0 });
    const e = await endpoint(t, r.url);
    await oneEvent();
    await waitUntil(async () => (await deliveries(t, e.id))[0]?.status === 'succeeded');
    const [d] = await deliveries(t, e.id);
    // The same words as a refused connection: a loopback destination's failures are not told apart.
    expect(d?.attempts[0]).toMatchObject({ statusCode: null, error: WITHHELD_ERROR });
    expect(d?.attempts[1]).toMatchObject({ statusCode: 200, error: null });
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${e.id}`);
  });

  it('retries a refused connection on the schedule, then gives up', async () => {
    const r = await receiver();
    const url = r.url;
    await r.close();
    const e = await endpoint(t, url);
    await oneEvent();
    await waitUntil(async () => (await deliveries(t, e.id))[0]?.status === 'failed');
    const [d] = await deliveries(t, e.id);
    expect(d?.attempts).toHaveLength(FAST_WEBHOOKS.retrySchedule.length);
    for (const a of d?.attempts ?? []) expect(a).toMatchObject({ statusCode: null, error: WITHHELD_ERROR });
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${e.id}`);
  });

  it('disables an endpoint that answers 410 Gone, with an event saying so, and sends it nothing more', async () => {
    const r = await receiver();
    r.answer = () => ({ status: 410 });
    const e = await endpoint(t, r.url);
    await oneEvent();
    await waitUntil(async () => (await t.admin.get(`/v1/webhook-endpoints/${e.id}`)).body.disabled === true);
    expect((await t.admin.get(`/v1/webhook-endpoints/${e.id}`)).body).toMatchObject({ disabled: true, disabledReason: 'gone' });
    const events = await t.admin.get('/v1/events?types=webhook_endpoint.disabled&limit=100');
    expect(events.body.data.some((ev: { data: { webhookEndpoint: { id: string }; reason: string } }) => ev.data.webhookEndpoint.id === e.id && ev.data.reason === 'gone')).toBe(true);
    const before = r.received.length;
    await oneEvent();
    await new Promise((res) => setTimeout(res, 400));
    expect(r.received).toHaveLength(before);
    expect(before).toBe(1);
  });

  it('honours Retry-After on 429', async () => {
    const r = await receiver();
    r.answer = (_req, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 });
    const e = await endpoint(t, r.url);
    await oneEvent();
    await r.waitFor((got) => got.length >= 2, 5000);
    const gap = (r.received[1] as Received).at - (r.received[0] as Received).at;
    expect(gap).toBeGreaterThanOrEqual(950); // the schedule alone would retry after 200 ms
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${e.id}`);
  });

  it('signs with the old and the new secret during a rotation, and both verify', async () => {
    const r = await receiver();
    const e = await endpoint(t, r.url);
    const rotated = await t.admin.post(`/v1/webhook-endpoints/${e.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(e.secret);
    await oneEvent();
    await r.waitFor((got) => got.length >= 1);
    const got = r.received[0] as Received;
    expect(got.signature.split(' ')).toHaveLength(2);
    expect(() => r.verify(got, e.secret)).not.toThrow();
    expect(() => r.verify(got, rotated.body.secret as string)).not.toThrow();
    expect((await t.admin.get(`/v1/webhook-endpoints/${e.id}`)).body.secret).toBeUndefined();
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${e.id}`);
  });

  it('never blocks one endpoint behind another that hangs', async () => {
    const slow = await receiver();
    slow.answer = () => ({ status: 200, delayMs: 900 });
    const fast = await receiver();
    const s = await endpoint(t, slow.url);
    const f = await endpoint(t, fast.url);
    const started = Date.now();
    for (let i = 0; i < 12; i++) await oneEvent();
    await fast.waitFor((got) => got.length >= 12, 5000);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(slow.received.length).toBeLessThan(12);
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${s.id}`);
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${f.id}`);
  });

  it('redelivers an event with the same webhook-id, and lists the log by type and cursor', async () => {
    const r = await receiver();
    const e = await endpoint(t, r.url);
    const id = await oneEvent();
    await r.waitFor((got) => got.length >= 1);
    const first = r.received[0] as Received;
    const res = await t.admin.post(`/v1/events/${first.id}/redeliver`, { endpointId: e.id });
    expect(res.status).toBe(202);
    await r.waitFor((got) => got.length >= 2);
    expect((r.received[1] as Received).id).toBe(first.id);
    expect(() => r.verify(r.received[1] as Received, e.secret)).not.toThrow();

    const log = await t.admin.get('/v1/events?types=payment_request.created&limit=100');
    const ids = log.body.data.map((ev: { id: string }) => ev.id);
    expect(ids).toContain(first.id);
    const after = await t.admin.get(`/v1/events?after=${first.id}&limit=100`);
    expect(after.body.data.map((ev: { id: string }) => ev.id)).not.toContain(first.id);
    expect(log.body.data.find((ev: { id: string }) => ev.id === first.id).paymentRequestId).toBe(id);
    expect((await t.admin.post('/v1/events/01890000-0000-7000-8000-000000000000/redeliver')).status).toBe(404);
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${e.id}`);
  });

  it('validates endpoints: event types, URLs, permissions', async () => {
    expect((await t.admin.post('/v1/webhook-endpoints', { url: 'not a url' })).status).toBe(422);
    expect((await t.admin.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:1/x', enabledEvents: ['payment_request.exploded'] })).body.code).toBe('validation_failed');
    const reader = await t.admin.post('/v1/api-keys', { grants: [{ permission: 'payment_requests:read' }] });
    expect((await t.client(reader.body.secret).post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:1/x' })).status).toBe(403);
    const e = await endpoint(t, 'http://127.0.0.1:1/x', ['payment_request.paid']);
    const patched = await t.admin.request('PATCH', `/v1/webhook-endpoints/${e.id}`, { enabledEvents: ['*'], disabled: true });
    expect(patched.body).toMatchObject({ enabledEvents: ['*'], disabled: true, disabledReason: 'manual' });
    expect((await t.admin.request('DELETE', `/v1/webhook-endpoints/${e.id}`)).status).toBe(200);
    expect((await t.admin.get(`/v1/webhook-endpoints/${e.id}`)).status).toBe(404);
  });
});

describe('an endpoint failing for too long', () => {
  it('is disabled, with a webhook_endpoint.disabled event', async () => {
    const s = await startTestServer({ webhooks: { ...FAST_WEBHOOKS, retrySchedule: [0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2], disableAfterSeconds: 0.5 } });
    try {
      const r = await receiver();
      r.answer = () => ({ status: 500 });
      const e = await endpoint(s, r.url);
      const payee = await createUserWithAccount(s.admin);
      await createRequest(s.admin, payee.accountId);
      await waitUntil(async () => (await s.admin.get(`/v1/webhook-endpoints/${e.id}`)).body.disabled === true);
      expect((await s.admin.get(`/v1/webhook-endpoints/${e.id}`)).body).toMatchObject({ disabledReason: 'failing', failingSince: expect.any(String) });
      const events = await s.admin.get('/v1/events?types=webhook_endpoint.disabled');
      expect(events.body.data).toHaveLength(1);
      expect(events.body.data[0].data).toMatchObject({ reason: 'failing', webhookEndpoint: { id: e.id } });
      // Enabling it again clears the streak and resumes the pending delivery.
      r.answer = () => ({ status: 200 });
      const enabled = await s.admin.request('PATCH', `/v1/webhook-endpoints/${e.id}`, { disabled: false });
      expect(enabled.body).toMatchObject({ disabled: false, failingSince: null });
      await waitUntil(async () => (await deliveries(s, e.id)).some((d) => d.status === 'succeeded'));
    } finally {
      await s.close();
    }
  });
});
