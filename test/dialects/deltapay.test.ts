/**
 * The DeltaPay dialect at `/compat/deltapay`, replaying the guide's calls (create by username
 * and by phone, view by id and by metadata, incoming/outgoing with status) and the whole P2P
 * story: approve → succeeded with the money moved, reject, cancel, insufficient funds, auth and
 * permission texts. Callbacks are verified as a DeltaPay client would: the body without
 * `signature` is canonicalized by python3's own `json.dumps(…, sort_keys=True)` and the RSA-PSS
 * signature checked with the registered public key.
 */
import { spawnSync } from 'node:child_process';
import { constants, createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYMENT_REQUEST_STATUSES } from '../../src/domain/payment-request.js';
import { DELTAPAY_STATUS } from '../../src/dialects/deltapay/mapping.js';
import { Client } from '../support/client.js';
import { balanceOf, createKey } from '../support/factories.js';
import { type Receiver, type Received, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let dp: Client;
let receiver: Receiver;
let signingKey: string;
const shopAccount = 10; // the legal entity's account (money is requested into it)
const thandiAccount = 77; // the user's account (she pays from it)
const ids: Record<string, string> = {};

/** Posts with `x-api-key`, as DeltaPay's guide shows. */
async function post(path: string, body: unknown) {
  return new Client(`${t.url}/compat/deltapay`, undefined).post(path, body, { 'x-api-key': t.adminKey });
}

beforeAll(async () => {
  t = await startTestServer();
  // DeltaPay takes the key as `Authorization: Bearer` too; `x-api-key` is tested on its own below.
  dp = new Client(`${t.url}/compat/deltapay`, t.adminKey);
  receiver = await startReceiver();
  const shop = await t.admin.post('/v1/parties', { type: 'legal_entity', name: 'Shop', number: 2 });
  const thandi = await t.admin.post('/v1/parties', { type: 'user', username: 'thandi', phone: '+26876123456', number: 76 });
  const poor = await t.admin.post('/v1/parties', { type: 'user', username: 'sipho', number: 80 });
  expect([shop.status, thandi.status, poor.status]).toEqual([201, 201, 201]);
  ids['shop'] = (await t.admin.post('/v1/accounts', { partyId: shop.body.id, currency: 'SZL', number: shopAccount })).body.id;
  ids['thandi'] = (await t.admin.post('/v1/accounts', { partyId: thandi.body.id, currency: 'SZL', number: thandiAccount })).body.id;
  ids['sipho'] = (await t.admin.post('/v1/accounts', { partyId: poor.body.id, currency: 'SZL', number: 81 })).body.id;
  await t.admin.post(`/v1/test-helpers/accounts/${ids['thandi']}/fund`, { amount: '100' });
  await t.admin.post(`/v1/test-helpers/accounts/${ids['sipho']}/fund`, { amount: '1' });
  const registered = await post('/account/callback-url/register', { callback_url: `${receiver.url}/deltapay/`, account_id: shopAccount, manager_entity_id: 2 });
  expect(registered.status, JSON.stringify(registered.body)).toBe(200);
  expect(registered.body).toMatchObject({ callback_url: `${receiver.url}/deltapay`, account_id: shopAccount, manager_entity_id: 2, active: true, deactivation_time: null });
  expect(registered.body.signing_key).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  signingKey = registered.body.signing_key;
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

/** python3's json.dumps(body_without_signature, sort_keys=True), independent of Payreq's writer. */
function pythonCanonical(body: string): Buffer {
  const script = 'import json,sys; b=json.loads(sys.stdin.read()); b.pop("signature"); sys.stdout.write(json.dumps(b, sort_keys=True))';
  const run = spawnSync('python3', ['-c', script], { input: body, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return Buffer.from(run.stdout, 'utf8');
}

function verifies(received: Pick<Received, 'body'>): boolean {
  const signature = Buffer.from((JSON.parse(received.body) as { signature: string }).signature, 'base64');
  return verify('sha256', pythonCanonical(received.body), { key: createPublicKey(signingKey), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, signature);
}

const callbacksOf = (id: number) => receiver.received.filter((r) => r.json?.payment_request_id === id);

describe('the guide\'s calls', () => {
  it('creates by username, is approved from the recipient\'s account, succeeds, and calls back signed', async () => {
    const created = await post('/payment-request/create', { account_id: shopAccount, amount: 22, transaction_type: 'eating_out', note: 'Lunch', metadata: '{"order": 123}', username: 'thandi', till_id: 4 });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body).toMatchObject({
      payment_request_status: 'pending', account_id: shopAccount, transaction_type: 'eating_out', transaction_id: null, transaction_status: null, till_id: 4, note: 'Lunch',
      metadata: '{"order": 123}', timeout: null, sender_user_id: null, sender_legal_entity_id: 2, recipient_user_id: 76, sender_name: 'Shop', recipient_name: 'thandi', amount: 22,
    });
    expect(created.body.request_time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+$/);
    const id = created.body.payment_request_id as number;

    // The same request in the canonical API.
    const canonical = (await t.admin.get(`/v1/payment-requests?number=${id}`)).body.data[0];
    expect(canonical).toMatchObject({ amount: '22.00', currency: 'SZL', transactionType: 'eating_out', tillId: '4', description: 'Lunch', status: 'pending' });

    for (const path of [`/payment-request/from-id?payment_request_id=${id}`, `/payment-requests/from-id?payment_request_id=${id}`]) {
      const byId = await dp.get(path);
      expect(byId.status).toBe(200);
      expect(byId.body).toEqual(created.body);
    }
    const incoming = await dp.get('/user/payment-requests/incoming?user_id=76&status=pending');
    expect(incoming.body.map((r: { payment_request_id: number }) => r.payment_request_id)).toContain(id);
    const outgoing = await dp.get('/legal-entity/payment-requests/outgoing?legal_entity_id=2');
    expect(outgoing.body.map((r: { payment_request_id: number }) => r.payment_request_id)).toContain(id);

    const approved = await post('/payment-request/approve', { payment_request_id: id, account_id: thandiAccount });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body).toMatchObject({ payment_request_status: 'succeeded', transaction_status: 'succeeded', transaction_id: id });
    expect(await balanceOf(t.admin, ids['thandi']!)).toBe('78.00');
    expect(await balanceOf(t.admin, ids['shop']!)).toBe('22.00');
    expect((await dp.get('/user/payment-requests/incoming?user_id=76&status=succeeded')).body.map((r: { payment_request_id: number }) => r.payment_request_id)).toContain(id);

    await receiver.waitFor(() => callbacksOf(id).length >= 2);
    const calls = callbacksOf(id);
    expect(calls.map((c) => c.json.payment_request_status)).toEqual(['approved', 'succeeded']);
    for (const call of calls) {
      expect(verifies(call)).toBe(true);
      expect(call.path).toBe('/deltapay/payment-request/update');
      expect(Object.keys(call.json).sort()).toEqual(['account_id', 'amount', 'metadata', 'note', 'payment_request_id', 'payment_request_status', 'recipient_name', 'recipient_user_id', 'request_time', 'sender_legal_entity_id', 'sender_name', 'sender_user_id', 'signature', 'till_id', 'till_name', 'timeout', 'transaction_id', 'transaction_status', 'transaction_type']);
    }
    expect(calls[1]!.body).toContain('"amount":22');
    // A tampered body no longer verifies.
    expect(verifies({ body: calls[1]!.body.replace('"amount":22', '"amount":23') })).toBe(false);
  });

  it('creates by phone, and from-metadata returns the most recent match', async () => {
    const first = await post('/payment-request/create', { account_id: shopAccount, amount: 50.0, transaction_type: 'rent', metadata: 'invoice-9', phone_country_dialcode: '268', phone_number: '76123456' });
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({ recipient_user_id: 76, amount: 50 });
    const second = await post('/payment-request/create', { account_id: shopAccount, amount: 149.99, transaction_type: 'rent', metadata: 'invoice-9', username: 'thandi' });
    for (const path of ['/payment-request/from-metadata?metadata=invoice-9', '/payment-requests/from-metadata?metadata=invoice-9']) {
      const found = await dp.get(path);
      expect(found.body.payment_request_id).toBe(second.body.payment_request_id);
      expect(found.body.amount).toBe(149.99);
    }
  });

  it('rejects and cancels, with callbacks, and fails on insufficient funds', async () => {
    const a = (await post('/payment-request/create', { account_id: shopAccount, amount: 5, transaction_type: 'taxes', username: 'thandi' })).body.payment_request_id;
    const b = (await post('/payment-request/create', { account_id: shopAccount, amount: 6, transaction_type: 'taxes', username: 'thandi' })).body.payment_request_id;
    const c = (await post('/payment-request/create', { account_id: shopAccount, amount: 7, transaction_type: 'taxes', username: 'sipho' })).body.payment_request_id;
    expect((await post('/payment-request/reject', { payment_request_id: a })).body.payment_request_status).toBe('rejected');
    expect((await post('/payment-request/cancel', { payment_request_id: b })).body.payment_request_status).toBe('cancelled');
    const failed = await post('/payment-request/approve', { payment_request_id: c, account_id: 81 });
    expect(failed.body).toMatchObject({ payment_request_status: 'failed', transaction_status: 'failed' });
    expect(await balanceOf(t.admin, ids['sipho']!)).toBe('1.00');
    await receiver.waitFor(() => callbacksOf(a).length >= 1 && callbacksOf(b).length >= 1 && callbacksOf(c).length >= 2);
    expect(callbacksOf(a)[0]!.json.payment_request_status).toBe('rejected');
    expect(callbacksOf(b)[0]!.json.payment_request_status).toBe('cancelled');
    expect(callbacksOf(c).map((x) => x.json.payment_request_status)).toEqual(['approved', 'failed']);
    for (const call of [...callbacksOf(a), ...callbacksOf(b)]) expect(verifies(call)).toBe(true);
    expect((await dp.get('/user/payment-requests/incoming?user_id=76&status=rejected')).body.map((r: { payment_request_id: number }) => r.payment_request_id)).toEqual([a]);
    const again = await post('/payment-request/reject', { payment_request_id: b });
    expect(again.status).toBe(409);
    expect(typeof again.body.detail).toBe('string');
  });
});

describe('auth, permissions and validation', () => {
  it('answers the documented 401 texts', async () => {
    const raw = new Client(`${t.url}/compat/deltapay`, undefined);
    expect((await raw.get('/transaction-types')).body).toEqual({ detail: 'Either a token or an API key must be provided' });
    const both = await raw.get('/transaction-types', { 'x-api-key': t.adminKey, authorization: `Bearer ${t.adminKey}` });
    expect(both.status).toBe(401);
    expect(both.body).toEqual({ detail: 'Provide either a token or an API key, not both' });
    expect((await raw.get('/transaction-types', { 'x-api-key': 'prq_test_0000000000000000000000' })).body).toEqual({ detail: 'Invalid API key' });
    const bearer = await raw.get('/transaction-types', { authorization: `Bearer ${t.adminKey}` });
    expect(bearer.status).toBe(200);
    expect(bearer.body).toEqual(['rent', 'eating_out', 'education', 'entertainment', 'taxes', 'cash_withdrawal', 'eps_mint', 'eps_withdrawal']);
  });

  it('names the missing permission for a key scoped to another account', async () => {
    const key = await createKey(t.admin, [{ permission: 'admin', accountId: ids['sipho'] }]);
    const scoped = new Client(`${t.url}/compat/deltapay`, undefined);
    const create = await scoped.post('/payment-request/create', { account_id: shopAccount, amount: 1, transaction_type: 'rent', username: 'thandi' }, { 'x-api-key': key });
    expect(create.status).toBe(401);
    expect(create.body).toEqual({ detail: `API key does not have the required permission: create_payment_request (target_account_id: ${shopAccount})` });
    const view = await scoped.get('/payment-request/from-id?payment_request_id=1', { 'x-api-key': key });
    expect(view.status).toBe(401);
    expect(view.body.detail).toBe('API key does not have the required permission: view_payment_requests (target_payment_request_id: 1)');
    const list = await scoped.get('/user/payment-requests/incoming?user_id=76', { 'x-api-key': key });
    expect(list.body).toEqual({ detail: 'API key does not have the required permission: view_payment_requests (target_user_id: 76)' });
  });

  it('refuses bad bodies with FastAPI\'s 422 and stores nothing', async () => {
    const before = (await t.admin.get('/v1/payment-requests?limit=100')).body.data.length;
    const neither = await post('/payment-request/create', { account_id: shopAccount, amount: 1, transaction_type: 'rent' });
    expect(neither.status).toBe(422);
    expect(neither.body.detail[0]).toMatchObject({ loc: ['body', 'username'] });
    expect((await post('/payment-request/create', { account_id: shopAccount, amount: 1, transaction_type: 'bribes', username: 'thandi' })).body.detail[0].loc).toEqual(['body', 'transaction_type']);
    const decimals = await post('/payment-request/create', { account_id: shopAccount, amount: 22.555, transaction_type: 'rent', username: 'thandi' });
    expect(decimals.status).toBe(422);
    expect((await post('/payment-request/create', { account_id: shopAccount, amount: '22', transaction_type: 'rent', username: 'thandi' })).status).toBe(422);
    expect((await post('/payment-request/create', { account_id: 9999, amount: 1, transaction_type: 'rent', username: 'thandi' })).body).toEqual({ detail: 'The requested resource does not exist' });
    expect((await dp.get('/payment-request/from-id?payment_request_id=99999')).status).toBe(404);
    expect((await dp.get('/user/payment-requests/incoming?user_id=76&status=nonsense')).status).toBe(422);
    expect((await t.admin.get('/v1/payment-requests?limit=100')).body.data.length).toBe(before);
  });

  it('lists and deactivates callback URLs', async () => {
    const list = await dp.get(`/account/callback-urls?account_id=${shopAccount}`);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({ account_id: shopAccount, manager_entity_id: 2, signing_key: signingKey, active: true });
    const extra = await post('/account/callback-url/register', { callback_url: `${receiver.url}/other`, account_id: shopAccount, manager_entity_id: 3 });
    const gone = await dp.request('DELETE', `/account/callback-url/deactivate?callback_id=${extra.body.callback_id}`);
    expect(gone.body).toEqual({ success: true });
    expect((await dp.get(`/account/callback-urls?account_id=${shopAccount}`)).body).toHaveLength(1);
  });
});

describe('status words', () => {
  it('map every state machine status to one of DeltaPay\'s words (expired reads as cancelled)', () => {
    expect(Object.keys(DELTAPAY_STATUS).sort()).toEqual([...PAYMENT_REQUEST_STATUSES].sort());
    expect(new Set(Object.values(DELTAPAY_STATUS))).toEqual(new Set(['pending', 'approved', 'succeeded', 'failed', 'rejected', 'cancelled', 'reversed']));
    expect(DELTAPAY_STATUS.expired).toBe('cancelled');
  });
});
