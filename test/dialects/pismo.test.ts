/**
 * The Pismo dialect at `/compat/pismo`, replaying the samples of Pismo's API reference verbatim (accounts
 * 8795 and 6789 are created with those numbers, as a migrating integration would keep them):
 * create, confirm with the token, list by `to` and by `from`; then the whole P2P story,
 * declines, cancels, an expired or unknown token, insufficient funds, a key scoped elsewhere,
 * and exact JSON-number amounts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYMENT_REQUEST_STATUSES } from '../../src/domain/payment-request.js';
import { PISMO_STATUS } from '../../src/dialects/pismo/mapping.js';
import { Client } from '../support/client.js';
import { balanceOf, createKey, createUser } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let pismo: Client;
const accounts: Record<number, string> = {};
beforeAll(async () => {
  t = await startTestServer();
  pismo = new Client(`${t.url}/compat/pismo`, t.adminKey);
  for (const [number, balance] of [[8795, '100'], [6789, undefined], [4242, '5'], [5151, undefined]] as const) {
    const party = await createUser(t.admin);
    const res = await t.admin.post('/v1/accounts', { partyId: party, currency: 'USD', number });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.number).toBe(number);
    accounts[number] = res.body.id;
    if (balance !== undefined) expect((await t.admin.post(`/v1/test-helpers/accounts/${res.body.id}/fund`, { amount: balance })).status).toBe(200);
  }
});
afterAll(async () => {
  await t.close();
});

/** Posts a raw JSON text, so that numbers keep their exact literal (25.50). */
function postRaw(path: string, json: string) {
  return pismo.request('POST', path, json, { 'x-tenant': 'TN-34778262-f4f0-464d-b4c6-a14e2dc6f4be' });
}

describe('Pismo\'s documented samples', () => {
  it('creates David\'s birthday present, confirms it with the token, and lists it as PAID', async () => {
    const expiration = new Date(Date.now() + 86_400_000).toISOString();
    const created = await postRaw('/payments/v1/payment-requests', `{ "amount": 25.50, "from":{ "currency": "USD", "account":{ "id": 8795 } }, "to":{ "currency": "USD", "account":{ "id": 6789 } }, "expiration": "${expiration}", "metadata":{ "message": "David's birthday present" } }`);
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['code', 'type']);
    expect(created.body.type).toBe('TOKEN');
    const code = created.body.code as string;

    // The same request in the canonical API.
    const canonical = await t.admin.get(`/v1/payment-requests?code=${code}`);
    expect(canonical.body.data[0]).toMatchObject({ amount: '25.50', currency: 'USD', status: 'pending', metadata: { message: "David's birthday present" }, payee: { accountId: accounts[6789] }, payer: { accountId: accounts[8795] } });

    const pending = await pismo.get('/payments/v1/payment-requests?to=6789');
    expect(pending.status).toBe(200);
    expect(pending.body).toEqual([{ amount: 25.5, to: 6789, expiration: new Date(expiration).toISOString(), location: null, status: 'PENDING', id: code, creation_date: canonical.body.data[0].createdAt, metadata: { message: "David's birthday present" } }]);

    const confirmed = await postRaw('/payments/v1/payments', `{ "descriptor": "PAYMENT REQUEST ACCEPT", "token": "${code}", "from": [ { "amount": 25.50, "currency": "USD", "account": { "id": 8795 } } ], "to": [ { "currency": "USD", "account": { "id": 6789 } } ], "metadata": [ { "source": "account balance", "message": "David's birthday present" } ] }`);
    expect(confirmed.status, JSON.stringify(confirmed.body)).toBe(200);
    expect(confirmed.body).toMatchObject({ authorization_ids: { credit: expect.any(Number), debit: confirmed.body.authorization_id }, event_date: expect.stringMatching(/Z$/), tracking_id: expect.any(String), metadata: [{ source: 'account balance', message: "David's birthday present" }] });
    expect(await balanceOf(t.admin, accounts[8795]!)).toBe('74.50');
    expect(await balanceOf(t.admin, accounts[6789]!)).toBe('25.50');

    // The guide's own spelling of the list path, with the payee's view and the payer's view.
    for (const path of ['/payments/v1/payments-requests?to=6789', '/payments/v1/payment-requests?from=8795']) {
      const list = await pismo.get(path);
      expect(list.status).toBe(200);
      expect(list.body.find((i: { id: string }) => i.id === code)).toMatchObject({ amount: 25.5, to: 6789, status: 'PAID', id: code });
    }
    // A repeat of the confirm by the same key answers the same transfer, with no second debit.
    const again = await postRaw('/payments/v1/payments', `{"token":"${code}","from":[{"amount":25.50,"currency":"USD","account":{"id":8795}}]}`);
    expect(again.status).toBe(200);
    expect(again.body.authorization_id).toBe(confirmed.body.authorization_id);
    expect(await balanceOf(t.admin, accounts[8795]!)).toBe('74.50');
  });

  it('keeps location and answers amounts as exact JSON numbers', async () => {
    const created = await postRaw('/payments/v1/payment-requests', '{"amount":10.0,"to":{"currency":"USD","account":{"id":6789}},"location":{"lat":12.2,"lng":-12.2},"metadata":{"my-custom-key":"my-custom-value"}}');
    expect(created.status).toBe(201);
    const res = await fetch(`${t.url}/compat/pismo/payments/v1/payment-requests?to=6789`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    const text = await res.text();
    expect(text).toContain(`"amount":10,"to":6789`);
    const item = (JSON.parse(text) as { id: string; location: unknown; metadata: unknown }[]).find((i) => i.id === created.body.code);
    expect(item).toMatchObject({ location: { lat: 12.2, lng: -12.2 }, metadata: { 'my-custom-key': 'my-custom-value' } });
  });
});

describe('the P2P story', () => {
  it('declines (payer) and cancels (payee), with the words DECLINED and CANCELED', async () => {
    const a = (await postRaw('/payments/v1/payment-requests', '{"amount":3,"from":{"currency":"USD","account":{"id":8795}},"to":{"currency":"USD","account":{"id":6789}}}')).body.code;
    const b = (await postRaw('/payments/v1/payment-requests', '{"amount":4,"to":{"currency":"USD","account":{"id":6789}}}')).body.code;
    const declined = await pismo.post(`/payments/v1/payment-requests/${a}/decline`);
    expect(declined.status).toBe(200);
    expect(declined.body).toMatchObject({ id: a, status: 'DECLINED', amount: 3 });
    const cancelled = await pismo.post(`/payments/v1/payment-requests/${b}/cancel`);
    expect(cancelled.body).toMatchObject({ id: b, status: 'CANCELED' });
    const confirm = await postRaw('/payments/v1/payments', `{"token":"${a}","from":[{"amount":3,"currency":"USD","account":{"id":8795}}]}`);
    expect(confirm.status).toBe(409);
    expect(confirm.body.error_code).toBe('INVALID_TRANSITION');
  });

  it('answers 400 for an unknown or expired token, and moves no money', async () => {
    const unknown = await postRaw('/payments/v1/payments', '{"token":"NOPE-NOPE-NOPE","from":[{"amount":1,"currency":"USD","account":{"id":8795}}]}');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual({ error_code: 'INVALID_TOKEN', error_message: 'The provided token does not exist or is expired' });
    const soon = new Date(Date.now() + 61_000).toISOString();
    const code = (await postRaw('/payments/v1/payment-requests', `{"amount":1,"to":{"currency":"USD","account":{"id":6789}},"expiration":"${soon}"}`)).body.code;
    t.clock.advance(62_000);
    try {
      const expired = await postRaw('/payments/v1/payments', `{"token":"${code}","from":[{"amount":1,"currency":"USD","account":{"id":8795}}]}`);
      expect(expired.status).toBe(400);
      expect(expired.body.error_code).toBe('INVALID_TOKEN');
      expect((await pismo.get('/payments/v1/payment-requests?to=6789')).body.find((i: { id: string }) => i.id === code).status).toBe('EXPIRED');
    } finally {
      t.clock.advance(-62_000);
    }
  });

  it('refuses a payment without the funds, leaving both balances as they were and the request payable', async () => {
    const code = (await postRaw('/payments/v1/payment-requests', '{"amount":9.99,"to":{"currency":"USD","account":{"id":5151}}}')).body.code;
    const res = await postRaw('/payments/v1/payments', `{"token":"${code}","from":[{"amount":9.99,"currency":"USD","account":{"id":4242}}]}`);
    expect(res.status).toBe(422);
    expect(res.body.error_code).toBe('INSUFFICIENT_FUNDS');
    expect(await balanceOf(t.admin, accounts[4242]!)).toBe('5.00');
    expect(await balanceOf(t.admin, accounts[5151]!)).toBe('0.00');
    expect((await pismo.get('/payments/v1/payment-requests?to=5151')).body[0].status).toBe('PENDING');
  });

  it('refuses bad amounts, a wrong amount on confirm, and a list with both or neither filter', async () => {
    for (const amount of ['25.555', '-1', '0', '"25.50"']) {
      const res = await postRaw('/payments/v1/payment-requests', `{"amount":${amount},"to":{"currency":"USD","account":{"id":6789}}}`);
      expect(res.status, amount).toBe(400);
    }
    const code = (await postRaw('/payments/v1/payment-requests', '{"amount":2,"to":{"currency":"USD","account":{"id":6789}}}')).body.code;
    const wrong = await postRaw('/payments/v1/payments', `{"token":"${code}","from":[{"amount":1.5,"currency":"USD","account":{"id":8795}}]}`);
    expect(wrong.status).toBe(400);
    expect(wrong.body.error_code).toBe('AMOUNT_MISMATCH');
    expect((await pismo.get('/payments/v1/payment-requests?to=6789&from=8795')).status).toBe(400);
    expect((await pismo.get('/payments/v1/payment-requests')).body).toMatchObject({ error_code: 'INVALID_FILTER' });
    expect((await postRaw('/payments/v1/payment-requests', '{"amount":1,"to":{"currency":"EUR","account":{"id":6789}}}')).body.error_code).toBe('CURRENCY_MISMATCH');
    expect((await postRaw('/payments/v1/payment-requests', '{"amount":1,"to":{"currency":"USD","account":{"id":999999}}}')).status).toBe(404);
  });

  it('shows nothing to a key scoped to another account, and 401 without a key', async () => {
    const scoped = new Client(`${t.url}/compat/pismo`, await createKey(t.admin, [{ permission: 'admin', accountId: accounts[4242] }]));
    expect((await scoped.get('/payments/v1/payment-requests?to=6789')).status).toBe(404);
    const anonymous = await new Client(`${t.url}/compat/pismo`, undefined).get('/payments/v1/payment-requests?to=6789');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error_code).toBe('UNAUTHENTICATED');
  });
});

describe('status words', () => {
  it('map every state machine status to a distinct Pismo word', () => {
    expect(Object.keys(PISMO_STATUS).sort()).toEqual([...PAYMENT_REQUEST_STATUSES].sort());
    expect(new Set(Object.values(PISMO_STATUS)).size).toBe(PAYMENT_REQUEST_STATUSES.length);
    expect(PISMO_STATUS).toMatchObject({ pending: 'PENDING', paid: 'PAID', expired: 'EXPIRED' });
  });
});
