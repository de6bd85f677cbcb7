/**
 * The Centrapay dialect at `/compat/centrapay`: the patron-code flow and the example payload of
 * Centrapay's documentation (https://docs.centrapay.com/api/payment-requests), a merchant's request with line items paid by a patron, refunded in part and in full
 * with repeat references, voided within and after the window, partial payments, Centrapay's
 * error bodies (403 for a foreign or missing id), and notifications verified as a Centrapay
 * client would: the `Authorization` JWT checked with `jose` against the endpoint's own JWKS, its
 * issuer, subject, audience, expiry and the body's SHA-256.
 */
import { createHash } from 'node:crypto';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYMENT_REQUEST_STATUSES } from '../../src/domain/payment-request.js';
import { CENTRAPAY_STATUS, codeOfShortCode, shortCodeOf } from '../../src/dialects/centrapay/mapping.js';
import { Client } from '../support/client.js';
import { balanceOf, createKey } from '../support/factories.js';
import { type Receiver, type Received, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let receiver: Receiver;
let merchant: Client; // the merchant's key (X-Api-Key), scoped to the merchant party
let patron: Client; // the patron's key, scoped to the patron party
let configId: string;
let merchantKey: string;
const ids: Record<string, string> = {};
let verification: { jwksUrl: string; issuer: string; subject: string };

/** A Centrapay client: every call carries `X-Api-Key`. */
function withKey(key: string) {
  const c = new Client(`${t.url}/compat/centrapay`, undefined);
  return {
    get: (path: string) => c.get(path, { 'x-api-key': key }),
    post: (path: string, body?: unknown) => c.post(path, body ?? {}, { 'x-api-key': key }),
  };
}
type CentrapayClient = ReturnType<typeof withKey>;
let m: CentrapayClient;
let p: CentrapayClient;
let s: CentrapayClient;

beforeAll(async () => {
  t = await startTestServer({ refundWindowSeconds: 7 * 86_400 });
  receiver = await startReceiver();
  const cafe = await t.admin.post('/v1/parties', { type: 'legal_entity', name: 'Centrapay Café' });
  const user = await t.admin.post('/v1/parties', { type: 'user', username: 'patron1' });
  const other = await t.admin.post('/v1/parties', { type: 'user', username: 'stranger1' });
  ids['cafe'] = cafe.body.id;
  ids['patron'] = user.body.id;
  ids['cafeAccount'] = (await t.admin.post('/v1/accounts', { partyId: ids['cafe'], currency: 'NZD' })).body.id;
  ids['patronAccount'] = (await t.admin.post('/v1/accounts', { partyId: ids['patron'], currency: 'NZD' })).body.id;
  await t.admin.post(`/v1/test-helpers/accounts/${ids['patronAccount']}/fund`, { amount: '1000' });
  const config = await t.admin.post('/v1/merchant-configs', { name: 'Café till', payeeAccountId: ids['cafeAccount'] });
  expect(config.status, JSON.stringify(config.body)).toBe(201);
  configId = config.body.id;
  merchantKey = await createKey(t.admin, ['payment_requests:create', 'payment_requests:read', 'payment_requests:cancel', 'refunds:create'].map((permission) => ({ permission, partyId: ids['cafe'] })));
  const patronKey = await createKey(t.admin, [{ permission: 'payment_requests:pay', partyId: ids['patron'] }]);
  const strangerKey = await createKey(t.admin, [{ permission: 'payment_requests:read', partyId: other.body.id }, { permission: 'refunds:create', partyId: other.body.id }]);
  merchant = t.client(merchantKey);
  patron = t.client(patronKey);
  m = withKey(merchantKey);
  p = withKey(patronKey);
  s = withKey(strangerKey);
  const endpoint = await t.admin.post('/v1/webhook-endpoints', { url: `${receiver.url}/centrapay-hooks`, format: 'centrapay' });
  expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
  ids['endpoint'] = endpoint.body.id;
  verification = endpoint.body.centrapay;
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

async function create(body: Record<string, unknown>) {
  const res = await m.post('/api/payment-requests', { configId, ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Record<string, unknown> & { id: string; shortCode: string };
}

describe('Centrapay\'s documented patron-code flow', () => {
  it('answers {} until a request is attached to one of the patron\'s codes, then that request, and {} once it is paid', async () => {
    expect((await p.get('/api/me/patron-code-payment-request')).body).toEqual({});
    const code = await patron.post(`/v1/parties/${ids['patron']}/patron-codes`);
    expect(code.status).toBe(201);
    // The merchant scans the code and creates the request with it (the merchantConfigId name of Centrapay's documentation).
    const made = await m.post('/api/payment-requests', { merchantConfigId: configId, value: { currency: 'NZD', amount: 100 }, patronCodeId: code.body.id });
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const found = await p.get('/api/me/patron-code-payment-request');
    expect(found.status).toBe(200);
    const body = found.body;
    // The example payload of Centrapay's documentation, field by field.
    expect(body).toMatchObject({
      id: made.body.id,
      url: `${t.url}/pay/${made.body.shortCode.slice(3, 17)}`,
      patronCodeId: code.body.id,
      merchantId: ids['cafe'],
      merchantName: 'Centrapay Café',
      merchantConfigId: configId,
      value: { currency: 'NZD', amount: '100' },
      paymentOptions: [{ amount: '100', assetType: 'centrapay.nzd.test' }],
      status: 'new',
      liveness: 'test',
      expirySeconds: 120,
    });
    for (const field of ['createdAt', 'updatedAt', 'expiresAt']) expect(body[field]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(body.expiresAt) - Date.parse(body.createdAt)).toBe(120_000);
    // A key that is not the patron's sees nothing on its codes.
    expect((await s.get('/api/me/patron-code-payment-request')).body).toEqual({});
    const paid = await p.post(`/api/payment-requests/${made.body.id as string}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'seed-1' });
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect((await p.get('/api/me/patron-code-payment-request')).body).toEqual({});
    expect(await balanceOf(t.admin, ids['patronAccount'] as string)).toBe('999.00');
  });
});

describe('a merchant request with line items, paid, refunded, voided', () => {
  it('creates with line items (summing to value), is the same request in /v1, and refuses a bad sum', async () => {
    const lineItems = [{ name: 'Flat white', sku: 'FW-1', qty: '2', price: '1100' }, { name: 'Muffin', sku: 'MF-1', qty: 1, price: 550 }, { name: 'Discount', qty: '1', price: '-150' }];
    const pr = await create({ value: { amount: '1500', currency: 'NZD' }, lineItems, externalRef: 'order-1', invoiceRef: 'inv-1', expirySeconds: 600, redirectPaidUrl: 'https://shop.example/paid' });
    expect(pr).toMatchObject({
      value: { amount: '1500', currency: 'NZD' }, status: 'new', remainingAmount: '1500', configId, externalRef: 'order-1', invoiceRef: 'inv-1', expirySeconds: 600, redirectPaidUrl: 'https://shop.example/paid',
      lineItems: [{ name: 'Flat white', sku: 'FW-1', qty: '2', price: '1100' }, { name: 'Muffin', sku: 'MF-1', qty: '1', price: '550' }, { name: 'Discount', qty: '1', price: '-150' }],
    });
    expect(pr.shortCode).toMatch(/^CP-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/);
    const canonical = await t.admin.get(`/v1/payment-requests/${pr.id}`);
    expect(canonical.body).toMatchObject({ id: pr.id, amount: '15.00', currency: 'NZD', status: 'pending', payee: { accountId: ids['cafeAccount'] }, redirectUrls: { success: 'https://shop.example/paid' } });
    expect(canonical.body.lineItems).toHaveLength(3);
    expect((await m.get(`/api/payment-requests/${pr.id}`)).body).toEqual(pr);
    expect((await m.get(`/api/payment-requests/short-code/${pr.shortCode}`)).body.id).toBe(pr.id);
    expect((await m.get(`/api/payment-requests/short-code/${pr.shortCode.toLowerCase()}`)).body.id).toBe(pr.id);

    const bad = await m.post('/api/payment-requests', { configId, value: { amount: '1600', currency: 'NZD' }, lineItems });
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'LINE_ITEMS_SUM_CHECK_FAILED' });
  });

  it('is paid by the patron (a repeat idempotencyKey answers the first result), refunded in part, repeated, refused, then fully', async () => {
    const pr = await create({ value: { amount: '10000', currency: 'NZD' } });
    const pay = { assetType: 'centrapay.nzd.test', idempotencyKey: 'pay-1' };
    const paid = await p.post(`/api/payment-requests/${pr.id}/pay`, pay);
    expect(paid.status, JSON.stringify(paid.body)).toBe(200);
    expect(paid.body).toMatchObject({
      type: 'payment', value: { currency: 'NZD', amount: '10000' }, assetType: 'centrapay.nzd.test', paymentRequestId: pr.id, merchantId: ids['cafe'],
      merchantConfigId: configId, merchantAccountId: ids['cafeAccount'], merchantName: 'Centrapay Café', idempotencyKey: 'pay-1',
    });
    expect(paid.body.shortCode).toBe(`${pr.shortCode}-${String(paid.body.activityNumber).padStart(3, '0')}`);
    expect(paid.body.createdBy).toMatch(/^crn:[0-9a-f-]+:api-key:[0-9a-f-]+$/);
    const again = await p.post(`/api/payment-requests/${pr.id}/pay`, pay);
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(paid.body.id);
    const before = await balanceOf(t.admin, ids['patronAccount'] as string);
    expect((await m.get(`/api/payment-requests/${pr.id}`)).body).toMatchObject({ status: 'paid', remainingAmount: '0' });
    const other = await p.post(`/api/payment-requests/${pr.id}/pay`, { ...pay, idempotencyKey: 'pay-2' });
    expect(other.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'REQUEST_PAID' });

    const refund = { value: { amount: '3000', currency: 'NZD' }, externalRef: 'refund-a' };
    const partial = await m.post(`/api/payment-requests/${pr.id}/refund`, refund);
    expect(partial.status, JSON.stringify(partial.body)).toBe(200);
    expect(partial.body).toMatchObject({ type: 'refund', value: { amount: '3000', currency: 'NZD' }, assetType: 'centrapay.nzd.test', externalRef: 'refund-a', paymentRequestId: pr.id });
    const repeat = await m.post(`/api/payment-requests/${pr.id}/refund`, refund);
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(partial.body.id);
    expect(await balanceOf(t.admin, ids['patronAccount'] as string)).toBe((Number(before) + 30).toFixed(2));
    const changed = await m.post(`/api/payment-requests/${pr.id}/refund`, { ...refund, value: { amount: '3001', currency: 'NZD' } });
    expect(changed.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'REPEAT_REFERENCE' });
    const tooMuch = await m.post(`/api/payment-requests/${pr.id}/refund`, { value: { amount: '7001', currency: 'NZD' }, externalRef: 'refund-b' });
    expect(tooMuch.body.message).toBe('INVALID_AMOUNT');
    const wrongCurrency = await m.post(`/api/payment-requests/${pr.id}/refund`, { value: { amount: '1', currency: 'AUD' }, externalRef: 'refund-c' });
    expect(wrongCurrency.body.message).toBe('INVALID_AMOUNT');
    const rest = await m.post(`/api/payment-requests/${pr.id}/refund`, { value: { amount: '7000', currency: 'NZD' }, externalRef: 'refund-d' });
    expect(rest.status).toBe(200);
    const more = await m.post(`/api/payment-requests/${pr.id}/refund`, { value: { amount: '1', currency: 'NZD' }, externalRef: 'refund-e' });
    expect(more.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'ALREADY_REFUNDED' });
    expect((await m.get(`/api/payment-requests/${pr.id}`)).body.status).toBe('paid');
    expect((await t.admin.get(`/v1/payment-requests/${pr.id}`)).body.status).toBe('refunded');

    const activities = (await m.get(`/api/payment-requests/${pr.id}/activities`)).body.items as { type: string; id: string }[];
    expect(activities.map((a) => a.type)).toEqual(['request', 'payment', 'paid', 'refund', 'refund']);
    expect(activities[1]?.id).toBe(paid.body.id);
    expect(activities[3]?.id).toBe(partial.body.id);

    const unpaid = await create({ value: { amount: '100', currency: 'NZD' } });
    const notPaid = await m.post(`/api/payment-requests/${unpaid.id}/refund`, { value: { amount: '100', currency: 'NZD' }, externalRef: 'x' });
    expect(notPaid.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'NOT_PAID' });
  });

  it('voids a new request (cancelled) and a paid one (refunded), and refuses after 24 hours', async () => {
    const fresh = await create({ value: { amount: '500', currency: 'NZD' } });
    const cancelled = await m.post(`/api/payment-requests/${fresh.id}/void`);
    expect(cancelled.status, JSON.stringify(cancelled.body)).toBe(200);
    expect(cancelled.body).toMatchObject({ type: 'cancellation', cancellationReason: 'CANCELLED_BY_MERCHANT', paymentRequestId: fresh.id });
    expect((await m.get(`/api/payment-requests/${fresh.id}`)).body).toMatchObject({ status: 'cancelled', cancellationReason: 'CANCELLED_BY_MERCHANT' });
    expect((await m.post(`/api/payment-requests/${fresh.id}/void`)).body.id).toBe(cancelled.body.id);
    const cancelledPay = await p.post(`/api/payment-requests/${fresh.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'late' });
    expect(cancelledPay.body.message).toBe('REQUEST_CANCELLED');

    const paid = await create({ value: { amount: '700', currency: 'NZD' }, expirySeconds: 86_400 });
    await p.post(`/api/payment-requests/${paid.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'void-pay' });
    const before = await balanceOf(t.admin, ids['patronAccount'] as string);
    const voided = await m.post(`/api/payment-requests/${paid.id}/void`);
    expect(voided.body).toMatchObject({ type: 'refund', value: { amount: '700', currency: 'NZD' } });
    expect(voided.body.externalRef).toBeUndefined();
    expect(await balanceOf(t.admin, ids['patronAccount'] as string)).toBe((Number(before) + 7).toFixed(2));
    expect((await m.post(`/api/payment-requests/${paid.id}/void`)).body.id).toBe(voided.body.id);

    const late = await create({ value: { amount: '800', currency: 'NZD' }, expirySeconds: 86_400 });
    await p.post(`/api/payment-requests/${late.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'late-pay' });
    t.clock.advance(24 * 3600_000 + 1000);
    const window = await m.post(`/api/payment-requests/${late.id}/void`);
    expect(window.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'VOID_WINDOW_EXCEEDED' });
    const expired = await m.post(`/api/payment-requests/${fresh.id}/void`);
    expect(expired.body.message).toBe('VOID_WINDOW_EXCEEDED');
  });

  it('takes partial payments only when the request allows them, and keeps a refused payment from changing anything', async () => {
    const partial = await create({ value: { amount: '10000', currency: 'NZD' }, partialAllowed: true, expirySeconds: 3600 });
    const part = await p.post(`/api/payment-requests/${partial.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'part-1', mode: 'partial-payment', amount: '4000' });
    expect(part.status, JSON.stringify(part.body)).toBe(200);
    expect(part.body.value).toEqual({ currency: 'NZD', amount: '4000' });
    expect((await m.get(`/api/payment-requests/${partial.id}`)).body).toMatchObject({ status: 'new', remainingAmount: '6000', partialAllowed: true });
    const over = await p.post(`/api/payment-requests/${partial.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'part-2', mode: 'partial-payment', amount: '6001' });
    expect(over.body.message).toBe('INVALID_AMOUNT');
    const rest = await p.post(`/api/payment-requests/${partial.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'part-3' });
    expect(rest.body.value).toEqual({ currency: 'NZD', amount: '6000' });
    expect((await m.get(`/api/payment-requests/${partial.id}`)).body).toMatchObject({ status: 'paid', remainingAmount: '0' });

    const whole = await create({ value: { amount: '100', currency: 'NZD' } });
    const refused = await p.post(`/api/payment-requests/${whole.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'w-1', mode: 'partial-payment', amount: '50' });
    expect(refused.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'PARTIAL_PAYMENT_NOT_ALLOWED' });
    const asset = await p.post(`/api/payment-requests/${whole.id}/pay`, { assetType: 'centrapay.nzd.main', idempotencyKey: 'w-2' });
    expect(asset.body.message).toBe('INVALID_ASSET_TYPE');

    const big = await create({ value: { amount: '99999999', currency: 'NZD' } });
    const balance = await balanceOf(t.admin, ids['patronAccount'] as string);
    const poor = await p.post(`/api/payment-requests/${big.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'big-1' });
    expect(poor.body).toEqual({ statusCode: 403, error: 'Forbidden', message: 'INSUFFICIENT_ASSET_VALUE' });
    expect(await balanceOf(t.admin, ids['patronAccount'] as string)).toBe(balance);
    expect((await m.get(`/api/payment-requests/${big.id}`)).body.status).toBe('new');
  });

  it('finds requests by externalRef, a page at a time', async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await create({ value: { amount: '100', currency: 'NZD' }, externalRef: 'batch-7' })).id);
    const first = await m.get('/api/payment-requests/external-ref/batch-7?paginationLimit=2');
    expect(first.body.items.map((i: { id: string }) => i.id)).toEqual([made[2], made[1]]);
    expect(typeof first.body.nextPageKey).toBe('string');
    const second = await m.get(`/api/payment-requests/external-ref/batch-7?paginationLimit=2&pageKey=${encodeURIComponent(first.body.nextPageKey as string)}`);
    expect(second.body.items.map((i: { id: string }) => i.id)).toEqual([made[0]]);
    expect(second.body.nextPageKey).toBeUndefined();
  });
});

describe('Centrapay\'s error bodies', () => {
  it('answers 403 Forbidden for a foreign or missing id, 401 without a key, 400 for bad input, 404 for an unknown route', async () => {
    const pr = await create({ value: { amount: '100', currency: 'NZD' } });
    const forbidden = { statusCode: 403, error: 'Forbidden', message: 'Forbidden' };
    expect((await s.get(`/api/payment-requests/${pr.id}`)).body).toEqual(forbidden);
    expect((await s.get(`/api/payment-requests/${pr.id}/activities`)).body).toEqual(forbidden);
    expect((await s.post(`/api/payment-requests/${pr.id}/refund`, { value: { amount: '1', currency: 'NZD' }, externalRef: 'x' })).body).toEqual(forbidden);
    expect((await m.get('/api/payment-requests/01890000-0000-7000-8000-000000000000')).body).toEqual(forbidden);
    expect((await m.get('/api/payment-requests/not-an-id')).status).toBe(403);
    expect((await s.post('/api/payment-requests', { configId, value: { amount: '1', currency: 'NZD' } })).body).toEqual(forbidden);
    const anonymous = await new Client(`${t.url}/compat/centrapay`, undefined).get(`/api/payment-requests/${pr.id}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Missing authentication' });
    expect((await withKey('prq_test_unknownunknownunknown12').get(`/api/payment-requests/${pr.id}`)).status).toBe(401);
    const missing = await m.post('/api/payment-requests', { configId });
    expect(missing.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'value is required' });
    const noConfig = await m.post('/api/payment-requests', { value: { amount: '1', currency: 'NZD' } });
    expect(noConfig.body.message).toBe('configId is required');
    for (const amount of ['0', '-5', '100000000', '1.5']) {
      const res = await m.post('/api/payment-requests', { configId, value: { amount, currency: 'NZD' } });
      expect(res.status, amount).toBe(400);
    }
    expect((await m.post('/api/payment-requests', { configId, value: { amount: '1', currency: 'NZD' }, patronCodeId: 'V17FByEP9gm1shSG6a1Zzx' })).body.message).toBe('PATRON_CODE_INVALID');
    expect((await m.post('/api/payment-requests', { configId, value: { amount: '1', currency: 'NZD' }, redirectPaidUrl: 'http://insecure.example' })).body.message).toBe('REDIRECT_URL_INVALID');
    expect((await m.post('/api/payment-requests', { configId, value: { amount: '1', currency: 'USD' } })).body.message).toBe('NO_AVAILABLE_PAYMENT_OPTIONS');
    const checksum = await m.get(`/api/payment-requests/short-code/${pr.shortCode.slice(0, -1)}${pr.shortCode.endsWith('0') ? '1' : '0'}`);
    expect(checksum.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'CHECKSUM_FAILED' });
    expect((await m.get('/api/nothing-here')).body).toEqual({ statusCode: 404, error: 'Not Found', message: 'Not Found' });
    const badRequest = { statusCode: 400, error: 'Bad Request', message: 'BAD REQUEST' };
    for (const [body, type] of [['{"configId":', 'application/json'], ['configId=1', 'application/x-www-form-urlencoded'], [`{"configId":"${'x'.repeat(2 * 1024 * 1024)}"}`, 'application/json']] as const) {
      const res = await fetch(`${t.url}/compat/centrapay/api/payment-requests`, { method: 'POST', headers: { 'x-api-key': merchantKey, 'content-type': type }, body });
      expect(res.status, type).toBe(400);
      expect(await res.json()).toEqual(badRequest);
    }
    // Nothing refused was stored.
    expect((await merchant.get('/v1/payment-requests?limit=100')).body.data.filter((r: { amount: string }) => r.amount === '0.01')).toHaveLength(0);
  });
});

describe('notifications', () => {
  const jwks = () => createRemoteJWKSet(new URL(verification.jwksUrl));
  const audience = () => `${receiver.url}/centrapay-hooks`;
  const sha256 = (body: string) => createHash('sha256').update(body).digest('hex');

  async function verify(call: Pick<Received, 'body' | 'headers'>, options: { audience?: string; currentDate?: Date } = {}) {
    const token = String(call.headers['authorization']);
    const { payload } = await jwtVerify(token, jwks(), { issuer: verification.issuer, subject: verification.subject, audience: options.audience ?? audience(), algorithms: ['ES256'], requiredClaims: ['iat', 'exp'], ...(options.currentDate ? { currentDate: options.currentDate } : {}) });
    if (payload['request_body_sha256'] !== sha256(call.body)) throw new Error('Payload hashes do not match');
    return payload;
  }

  it('sends paid, refund-initiated and refund-completed, each with an ES256 JWT that verifies against the endpoint\'s JWKS', async () => {
    expect(verification).toEqual({ jwksUrl: `${t.url}/compat/centrapay/webhook-endpoints/${ids['endpoint']}/jwks.json`, issuer: expect.stringMatching(new RegExp(`^${t.url}/compat/centrapay/orgs/[0-9a-f-]{36}/test$`)), subject: ids['endpoint'] });
    const pr = await create({ value: { amount: '2500', currency: 'NZD' } });
    await p.post(`/api/payment-requests/${pr.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'n-1' });
    await m.post(`/api/payment-requests/${pr.id}/refund`, { value: { amount: '500', currency: 'NZD' }, externalRef: 'n-r' });
    const mine = () => receiver.received.filter((r) => r.json?.data?.paymentRequestId === pr.id);
    await receiver.waitFor(() => mine().length >= 3);
    const calls = mine();
    expect(calls.map((c) => c.json.type).sort()).toEqual(['payment-request:paid', 'payment-request:refund-completed', 'payment-request:refund-initiated']);
    for (const call of calls) {
      expect(Object.keys(call.json).sort()).toEqual(['accountId', 'createdAt', 'data', 'id', 'test', 'type']);
      expect(call.json).toMatchObject({ accountId: ids['cafe'], test: true });
      const payload = await verify(call);
      expect(payload['exp']).toBe((payload['iat'] as number) + 300);
      expect(payload).toMatchObject({ aud: audience(), iss: verification.issuer, sub: ids['endpoint'] });
    }
    const paid = calls.find((c) => c.json.type === 'payment-request:paid');
    expect(paid?.json.data).toMatchObject({ type: 'payment', value: { amount: '2500', currency: 'NZD' }, assetType: 'centrapay.nzd.test', idempotencyKey: 'n-1' });
    const completed = calls.find((c) => c.json.type === 'payment-request:refund-completed');
    expect(completed?.json.data).toMatchObject({ type: 'refund', value: { amount: '500', currency: 'NZD' }, externalRef: 'n-r' });

    const call = calls[0] as Received;
    // A wrong audience, an expired token and an altered body are all rejected.
    await expect(verify(call, { audience: 'https://someone.else' })).rejects.toThrow();
    const iat = decodeJwt(String(call.headers['authorization'])).iat as number;
    await expect(verify(call, { currentDate: new Date((iat + 301) * 1000) })).rejects.toThrow();
    await expect(verify({ ...call, body: call.body.replace('"test":true', '"test":false') })).rejects.toThrow('Payload hashes do not match');
  });

  it('rotates the signing key: the new kid signs, the old one stays in the JWKS during the overlap', async () => {
    const before = (await new Client(verification.jwksUrl, undefined).get('')).body.keys as { kid: string; kty: string; crv: string; alg: string; d?: string }[];
    expect(before.length).toBe(1);
    for (const key of before) {
      expect(key).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      expect(key.d).toBeUndefined();
    }
    expect((await t.admin.post(`/v1/webhook-endpoints/${ids['endpoint']}/rotate-secret`)).status).toBe(200);
    const after = await new Client(verification.jwksUrl, undefined).get('');
    expect(after.headers.get('cache-control')).toContain('max-age');
    const kids = (after.body.keys as { kid: string }[]).map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining(before.map((k) => k.kid)));
    expect(kids.length).toBe(before.length + 1);
    const pr = await create({ value: { amount: '100', currency: 'NZD' } });
    await p.post(`/api/payment-requests/${pr.id}/pay`, { assetType: 'centrapay.nzd.test', idempotencyKey: 'rot-1' });
    await receiver.waitFor((r) => r.some((x) => x.json?.data?.paymentRequestId === pr.id));
    const call = receiver.received.find((x) => x.json?.data?.paymentRequestId === pr.id) as Received;
    await verify(call);
    const header = JSON.parse(Buffer.from(String(call.headers['authorization']).split('.')[0] as string, 'base64url').toString()) as { kid: string; alg: string };
    expect(header.alg).toBe('ES256');
    expect(before.map((k) => k.kid)).not.toContain(header.kid);
    expect(kids).toContain(header.kid);
  });
});

describe('status words and short codes', () => {
  it('maps every Payreq status to one of Centrapay\'s four words', () => {
    expect(Object.keys(CENTRAPAY_STATUS).sort()).toEqual([...PAYMENT_REQUEST_STATUSES].sort());
    expect(CENTRAPAY_STATUS).toEqual({ pending: 'new', processing: 'new', paid: 'paid', refunded: 'paid', failed: 'cancelled', cancelled: 'cancelled', declined: 'cancelled', expired: 'expired' });
  });

  it('checks a short code\'s check character: any one changed character is caught', () => {
    const code = 'ABCD-EFGH-JKMN';
    const short = shortCodeOf(code);
    expect(codeOfShortCode(short)).toBe(code);
    const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
    for (let i = 3; i < short.length; i++) {
      if (short[i] === '-') continue;
      for (const c of alphabet) {
        if (c === short[i]) continue;
        expect(codeOfShortCode(`${short.slice(0, i)}${c}${short.slice(i + 1)}`), `${i}:${c}`).toBeUndefined();
      }
    }
  });
});

