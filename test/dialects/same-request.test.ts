/**
 * A request created through a dialect is the same request in /v1, with the same events and the
 * same Standard Webhooks deliveries; and a request created in /v1 is visible through the
 * dialects.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client } from '../support/client.js';
import { createUser } from '../support/factories.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let receiver: Receiver;
let payee: string;
let payer: string;
beforeAll(async () => {
  t = await startTestServer();
  receiver = await startReceiver();
  expect((await t.admin.post('/v1/webhook-endpoints', { url: `${receiver.url}/standard` })).status).toBe(201);
  payee = (await t.admin.post('/v1/accounts', { partyId: await createUser(t.admin), currency: 'USD', number: 500 })).body.id;
  payer = (await t.admin.post('/v1/accounts', { partyId: await createUser(t.admin, { username: 'lwazi' }), currency: 'USD', number: 501 })).body.id;
  await t.admin.post(`/v1/test-helpers/accounts/${payer}/fund`, { amount: '50' });
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

describe('one request, every API', () => {
  it('sends a Pismo-created, DeltaPay-approved request\'s events to a standard endpoint, as in /v1', async () => {
    const pismo = new Client(`${t.url}/compat/pismo`, t.adminKey);
    const code = (await pismo.request('POST', '/payments/v1/payment-requests', '{"amount":12.34,"to":{"currency":"USD","account":{"id":500}}}')).body.code;
    const pr = (await t.admin.get(`/v1/payment-requests?code=${code}`)).body.data[0];
    expect(pr).toMatchObject({ amount: '12.34', payee: { accountId: payee, accountNumber: 500 } });
    // Read and paid through DeltaPay: the same request, by its number.
    const deltapay = new Client(`${t.url}/compat/deltapay`, t.adminKey);
    const view = (await deltapay.get(`/payment-request/from-id?payment_request_id=${pr.number as number}`)).body;
    expect(view).toMatchObject({ payment_request_id: pr.number, account_id: 500, amount: 12.34, payment_request_status: 'pending' });
    const approved = await deltapay.post('/payment-request/approve', { payment_request_id: pr.number, account_id: 501 });
    expect(approved.body.payment_request_status).toBe('succeeded');
    const events = ((await t.admin.get(`/v1/payment-requests/${pr.id as string}/events`)).body.data as { id: string; type: string }[]);
    expect(events.map((e) => e.type)).toEqual(['payment_request.created', 'payment_request.processing', 'payment.received', 'payment_request.paid']);
    await receiver.waitFor((r) => r.filter((x) => x.json?.data?.id === pr.id).length === 4);
    expect(receiver.received.filter((x) => x.json?.data?.id === pr.id).map((x) => x.id).sort()).toEqual(events.map((e) => e.id).sort());
    expect((await pismo.get('/payments/v1/payment-requests?to=500')).body[0]).toMatchObject({ id: code, status: 'PAID', amount: 12.34 });
  });

  it('shows a /v1-created request through Pismo and DeltaPay', async () => {
    const created = (await t.admin.post('/v1/payment-requests', { amount: '7.5', currency: 'USD', payee: { accountId: payee }, payer: { username: 'lwazi' }, expiresIn: 600 })).body;
    const pismo = new Client(`${t.url}/compat/pismo`, t.adminKey);
    expect((await pismo.get('/payments/v1/payment-requests?to=500')).body[0]).toMatchObject({ id: created.code, amount: 7.5, to: 500, status: 'PENDING' });
    const deltapay = new Client(`${t.url}/compat/deltapay`, t.adminKey);
    expect((await deltapay.get(`/payment-request/from-id?payment_request_id=${created.number as number}`)).body).toMatchObject({ amount: 7.5, recipient_name: 'lwazi', payment_request_status: 'pending' });
    const tooSmall = await pismo.request('POST', '/payments/v1/payment-requests', '{"amount":0.001,"to":{"currency":"USD","account":{"id":500}}}');
    expect(tooSmall.status).toBe(400);
  });
});
