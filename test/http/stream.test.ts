/**
 * The live stream, `GET /v1/events/stream`: a payer's app sees an incoming request at once,
 * resumes with `Last-Event-ID` without gaps, gets heartbeats, and sees only what its key may.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, createRequest, createUserWithAccount } from '../support/factories.js';
import { openSse, type SseStream } from '../support/sse.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
const streams: SseStream[] = [];
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  for (const s of streams) s.close();
  await t.close();
});

async function open(query: string, key = t.adminKey, lastEventId?: string): Promise<SseStream> {
  const s = await openSse(`${t.url}/v1/events/stream${query}`, key, lastEventId);
  streams.push(s);
  return s;
}

describe('the live event stream', () => {
  it('shows a payer a new incoming request within 1 s', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin);
    const stream = await open(`?partyId=${payer.partyId}`);
    expect(stream.status).toBe(200);
    const sent = Date.now();
    const pr = await createRequest(t.admin, payee.accountId, { payer: { partyId: payer.partyId } });
    await stream.waitFor((m) => m.length >= 1, 1000);
    const [message] = stream.messages;
    expect(message).toMatchObject({ event: 'payment_request.created', data: { type: 'payment_request.created', paymentRequestId: pr.id, data: { paymentRequest: { status: 'pending' } } } });
    expect((message?.at ?? Infinity) - sent).toBeLessThan(1000);
  });

  it('resumes after Last-Event-ID without gaps or repeats', async () => {
    const payee = await createUserWithAccount(t.admin);
    const payer = await createUserWithAccount(t.admin, 'USD', '100');
    const first = await open(`?partyId=${payer.partyId}`);
    const a = await createRequest(t.admin, payee.accountId, { payer: { accountId: payer.accountId } });
    await first.waitFor((m) => m.length >= 1);
    const lastSeen = first.messages[0]?.id as string;
    first.close();

    // While the app is away: a payment (three events), a new request, a cancel.
    await t.admin.post(`/v1/payment-requests/${a.id}/approve`, { accountId: payer.accountId });
    const b = await createRequest(t.admin, payee.accountId, { payer: { accountId: payer.accountId } });
    await t.admin.post(`/v1/payment-requests/${b.id}/cancel`);
    const missed = (await t.admin.get(`/v1/events?after=${lastSeen}&limit=100`)).body.data
      .filter((e: { data: { paymentRequest?: { payer?: { partyId?: string } } } }) => e.data.paymentRequest?.payer?.partyId === payer.partyId)
      .map((e: { id: string }) => e.id);
    expect(missed).toHaveLength(5);

    const resumed = await open(`?partyId=${payer.partyId}`, t.adminKey, lastSeen);
    await resumed.waitFor((m) => m.length >= missed.length);
    await new Promise((r) => setTimeout(r, 200));
    expect(resumed.messages.map((m) => m.id)).toEqual(missed);
    expect(resumed.messages.map((m) => m.event)).toEqual([
      'payment_request.processing', 'payment.received', 'payment_request.paid', 'payment_request.created', 'payment_request.cancelled',
    ]);
    // …and goes on live after the backlog.
    const c = await createRequest(t.admin, payee.accountId, { payer: { accountId: payer.accountId } });
    await resumed.waitFor((m) => m.some((x) => x.data.paymentRequestId === c.id));
  });

  it('sends heartbeats', async () => {
    const stream = await open('');
    await new Promise((r) => setTimeout(r, 500));
    expect(stream.comments.filter((c) => c === 'heartbeat').length).toBeGreaterThanOrEqual(1);
  });

  it('filters by event type', async () => {
    const payee = await createUserWithAccount(t.admin);
    const stream = await open(`?types=payment_request.cancelled`);
    const pr = await createRequest(t.admin, payee.accountId);
    await t.admin.post(`/v1/payment-requests/${pr.id}/cancel`);
    await stream.waitFor((m) => m.length >= 1);
    await new Promise((r) => setTimeout(r, 150));
    expect(stream.messages.map((m) => m.event)).toEqual(['payment_request.cancelled']);
  });

  it('shows a scoped key only its own requests, and no other party', async () => {
    const payee = await createUserWithAccount(t.admin);
    const mine = await createUserWithAccount(t.admin);
    const other = await createUserWithAccount(t.admin);
    const key = await createKey(t.admin, [{ permission: 'payment_requests:pay', partyId: mine.partyId }]);
    expect((await open(`?partyId=${other.partyId}`, key)).status).toBe(404);
    const stream = await open('', key);
    await createRequest(t.admin, payee.accountId, { payer: { partyId: other.partyId } });
    const own = await createRequest(t.admin, payee.accountId, { payer: { partyId: mine.partyId } });
    await stream.waitFor((m) => m.length >= 1);
    await new Promise((r) => setTimeout(r, 200));
    expect(stream.messages.map((m) => m.data.paymentRequestId)).toEqual([own.id]);
  });

  it('rejects an unknown Last-Event-ID and an unknown type', async () => {
    expect((await open('', t.adminKey, '01890000-0000-7000-8000-000000000000')).status).toBe(404);
    expect((await open('?types=nope')).status).toBe(422);
  });

  it('reads the database as often for 60 open streams as for one (one feed per process)', async () => {
    const queries = async () => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      return Number(/^payreq_db_queries_total (\d+)/m.exec(text)?.[1]);
    };
    const perSecond = async () => {
      const before = await queries();
      await new Promise((r) => setTimeout(r, 1000));
      return (await queries()) - before;
    };
    const payers = await Promise.all(Array.from({ length: 60 }, () => createUserWithAccount(t.admin)));
    const one = await open(`?partyId=${payers[0]?.partyId as string}`);
    await new Promise((r) => setTimeout(r, 300));
    const withOne = await perSecond();
    const many = await Promise.all(payers.slice(1).map((p) => open(`?partyId=${p.partyId}`)));
    await new Promise((r) => setTimeout(r, 300));
    const withMany = await perSecond();
    // The streams poll every 50 ms here: 59 more streams polling on their own would add ~1,180 queries a second.
    expect(withMany, `${withOne} queries/s with one stream, ${withMany} with 60`).toBeLessThan(withOne + 60);
    // And every stream still gets its party's events.
    const payee = await createUserWithAccount(t.admin);
    await Promise.all(payers.map((p) => createRequest(t.admin, payee.accountId, { payer: { partyId: p.partyId } })));
    for (const s of [one, ...many]) await s.waitFor((m) => m.length === 1, 5000);
    for (const [i, s] of [one, ...many].entries()) expect(s.messages[0]?.data.data.paymentRequest.payer.partyId).toBe(payers[i]?.partyId);
  });
});
