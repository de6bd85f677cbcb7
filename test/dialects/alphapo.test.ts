/**
 * The AlphaPo dialect at `/compat/alphapo`: the Fiat and Cryptocurrency create examples of
 * AlphaPo's documentation (https://docs.alphapo.net)
 * replayed verbatim and answered field by field, every documented error for an input that
 * triggers it (a table), the documented 403s for missing headers, wrong secrets and altered
 * bodies, the HMAC test vector of AlphaPo's authentication documentation, and callbacks
 * verified over their exact bytes as an AlphaPo merchant would (HMAC-SHA512 hex with the endpoint's secret), from a request whose
 * crypto `payment_currency` became an on-chain option paid on a real local chain.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, generateSecret } from '../../src/app/api-keys.js';
import { PAYMENT_REQUEST_STATUSES } from '../../src/domain/payment-request.js';
import { processingSignature } from '../../src/dialects/alphapo/auth.js';
import { ALPHAPO_STATUS, alphapoStatus } from '../../src/dialects/alphapo/mapping.js';
import { spanText } from '../../src/dialects/alphapo/validation.js';
import { startTestChain, type TestChain } from '../support/chain.js';
import type { Client } from '../support/client.js';
import { chainOverrides, payOnChain } from '../support/evm.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { DIALECTS } from '../../src/dialects/index.js';
import { configureDialects } from '../../src/http/dialect.js';

let chain: TestChain;
let t: TestServer;
let receiver: Receiver;
let live: Client;
const keys: Record<string, { key: string; secret: string }> = {};
const ids: Record<string, string> = {};

// The documented request examples, byte for byte as a client would send them.
const FIAT = JSON.stringify({ amount: '100', currency: { iso: 'EUR' }, life_time_duration: 360000, end_user_email: 'customer@example.com', description: 'Order 0512', foreign_id: 'payment_request_123', url_store: 'https://example.com/store', end_user_reference: 'user_12345' });
const CRYPTO = JSON.stringify({ amount: '0.0015', currency: { iso: 'USDC', network_name: 'ethereum' }, life_time_duration: 360000, end_user_email: 'customer@example.com', description: 'Order 0511', foreign_id: 'payment_request_123', url_store: 'https://example.com/store', end_user_reference: 'user_12345' });

/** Posts `body` (exact bytes) the way AlphaPo's clients do: key and signature headers, JSON content type. */
async function send(path: string, body: string, auth: { key?: string | undefined; secret?: string | undefined; signature?: string }, contentType = 'application/json') {
  const headers: Record<string, string> = { 'content-type': contentType };
  if (auth.key !== undefined) headers['x-processing-key'] = auth.key;
  const signature = auth.signature ?? (auth.secret === undefined ? undefined : processingSignature(auth.secret, body));
  if (signature !== undefined) headers['x-processing-signature'] = signature;
  const res = await fetch(`${t.url}/compat/alphapo${path}`, { method: 'POST', headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { data?: Record<string, unknown> } };
}
const create = (body: string, who = 'shop', path = '/api/payments/v1/requests') => send(path, body, keys[who] ?? {});

async function makeKey(api: Client, grants: Record<string, unknown>[], signingSecret = true) {
  const res = await api.post('/v1/api-keys', { grants, signingSecret });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { key: res.body.secret as string, secret: res.body.signingSecret as string };
}

beforeAll(async () => {
  chain = await startTestChain();
  const base = chainOverrides(chain, { confirmations: 1 });
  t = await startTestServer({ ...base, fxRates: { ...base.fxRates, 'EUR/TST-private': '2' }, dialects: configureDialects(DIALECTS, { PAYREQ_ALPHAPO_AMOUNT_LIMITS: '{"EUR": {"min": "1", "max": "10000"}}' }) });
  receiver = await startReceiver();
  const shop = await t.admin.post('/v1/parties', { type: 'legal_entity', name: 'Shop' });
  ids['shop'] = shop.body.id;
  ids['eur'] = (await t.admin.post('/v1/accounts', { partyId: ids['shop'], currency: 'EUR' })).body.id;
  expect((await t.admin.post('/v1/accounts', { partyId: ids['shop'], currency: 'USDC-mainnet', address: chain.address(5) })).status).toBe(201);
  expect((await t.admin.post('/v1/accounts', { partyId: ids['shop'], currency: 'TST-private', address: chain.address(5) })).status).toBe(201);
  keys['shop'] = await makeKey(t.admin, [{ permission: 'payment_requests:create', partyId: ids['shop'] }]);
  keys['unsigned'] = await makeKey(t.admin, [{ permission: 'payment_requests:create', partyId: ids['shop'] }], false);
  const user = await t.admin.post('/v1/parties', { type: 'user', username: 'not-a-merchant' });
  keys['user'] = await makeKey(t.admin, [{ permission: 'payment_requests:create', partyId: user.body.id }]);
  keys['general'] = await makeKey(t.admin, [{ permission: 'payment_requests:create' }]);
  // A live-mode merchant in the same org: the two documented examples share a foreign_id, which is unique per org and mode.
  const liveSecret = generateSecret('live');
  await bootstrap(t.server.deps, liveSecret);
  live = t.client(liveSecret);
  const liveShop = await live.post('/v1/parties', { type: 'legal_entity', name: 'Shop' });
  expect((await live.post('/v1/accounts', { partyId: liveShop.body.id, currency: 'USDC-mainnet', address: chain.address(6) })).status).toBe(201);
  keys['live'] = await makeKey(live, [{ permission: 'payment_requests:create', partyId: liveShop.body.id }]);
  const endpoint = await t.admin.post('/v1/webhook-endpoints', { url: `${receiver.url}/alphapo/callback`, format: 'alphapo' });
  expect(endpoint.status, JSON.stringify(endpoint.body)).toBe(201);
  ids['endpoint'] = endpoint.body.id;
  ids['endpointSecret'] = endpoint.body.secret;
});
afterAll(async () => {
  await t.close();
  await receiver.close();
  await chain.close();
});

describe('AlphaPo\'s documented examples', () => {
  it('creates the Fiat example and answers as documented, field by field; the same request in /v1', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await create(FIAT);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const data = res.body.data as Record<string, unknown>;
    // The example response's fields, and no others (url_success, url_failed and payment_currency were not sent).
    expect(Object.keys(data).sort()).toEqual(['amount', 'currency', 'description', 'end_user_email', 'end_user_reference', 'foreign_id', 'id', 'life_time', 'payment_link', 'status', 'url_store']);
    expect(data).toMatchObject({ amount: '100', currency: { iso: 'EUR' }, status: 'created', end_user_email: 'customer@example.com', description: 'Order 0512', foreign_id: 'payment_request_123', url_store: 'https://example.com/store', end_user_reference: 'user_12345' });
    expect(data['id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(data['life_time']).toBeGreaterThanOrEqual(before + 360000);
    expect(data['life_time']).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 360000);
    expect(data['payment_link']).toMatch(new RegExp(`^${t.url}/pay/[0-9A-Z-]+$`));
    const canonical = await t.admin.get(`/v1/payment-requests/${data['id'] as string}`);
    expect(canonical.body).toMatchObject({
      amount: '100.00', currency: 'EUR', status: 'pending', externalId: 'payment_request_123', description: 'Order 0512',
      customer: { email: 'customer@example.com', reference: 'user_12345' }, redirectUrls: { store: 'https://example.com/store' }, payee: { accountId: ids['eur'] },
    });
    expect(canonical.body.paymentLink).toBe(data['payment_link']);
    // The same body again: the duplicate foreign_id error, on the v2 path too.
    for (const path of ['/api/payments/v1/requests', '/api/v2/requests']) {
      const again = await create(FIAT, 'shop', path);
      expect(again.status).toBe(400);
      expect(again.body).toEqual({ error: 'Payment request with this foreign_id already exists.', code: 400 });
    }
  });

  it('creates the Cryptocurrency example on the v2 path', async () => {
    const res = await create(CRYPTO, 'live', '/api/v2/requests');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const data = res.body.data as Record<string, unknown>;
    expect(Object.keys(data).sort()).toEqual(['amount', 'currency', 'description', 'end_user_email', 'end_user_reference', 'foreign_id', 'id', 'life_time', 'payment_link', 'status', 'url_store']);
    expect(data).toMatchObject({ amount: '0.0015', currency: { iso: 'USDC', network_name: 'ethereum' }, status: 'created', description: 'Order 0511', foreign_id: 'payment_request_123' });
    const canonical = await live.get(`/v1/payment-requests/${data['id'] as string}`);
    expect(canonical.body).toMatchObject({ amount: '0.0015', currency: 'USDC-mainnet', mode: 'live' });
  });
});

describe('every documented error, for an input that triggers it', () => {
  const fiat = JSON.parse(FIAT) as Record<string, unknown>;
  const long = 'x'.repeat(256);
  const longUrl = `https://example.com/${'a'.repeat(236)}`;
  const cases: [string, Record<string, unknown>, number, string][] = [
    ['amount missing', { amount: undefined }, 422, 'The amount field is mandatory.'],
    ['currency missing', { currency: undefined }, 422, 'The iso is a mandatory field.'],
    ['currency.iso missing', { currency: { network_name: null } }, 422, 'The iso is a mandatory field.'],
    ['unknown currency.iso', { currency: { iso: 'XXX' } }, 404, 'The currency.iso is incorrect.'],
    ['crypto without network', { currency: { iso: 'USDC' } }, 422, 'The currency.network_name field is mandatory for crypto currencies.'],
    ['crypto on an unknown network', { currency: { iso: 'USDC', network_name: 'tron' } }, 422, 'The combination of currency and network is not supported.'],
    ['fiat with a network', { currency: { iso: 'EUR', network_name: 'ethereum' } }, 422, 'The combination of currency and network is not supported.'],
    ['a currency the merchant does not take', { currency: { iso: 'GBP' } }, 422, 'The currency.iso is disabled.'],
    ['amount below the minimum', { amount: '0.99' }, 422, 'The minimum amount is 1 EUR.'],
    ['negative amount', { amount: '-5' }, 422, 'The minimum amount is 1 EUR.'],
    ['amount above the maximum', { amount: '10000.01' }, 422, 'The maximum amount is 10000 EUR.'],
    ['too many decimals', { amount: '1.234' }, 422, 'The amount for EUR cannot have more than 2 decimal places.'],
    ['no lifetime', { life_time_duration: undefined }, 422, 'It is obligatory - to fill in life_time_date_time or life_time_duration.'],
    ['both lifetimes', { life_time_datetime: 1773768946 }, 422, 'Only one of fields life_time_date_time and life_time_duration should be field.'],
    ['lifespan too short', { life_time_duration: 10 }, 422, 'The lifespan must be longer than or equal to 1 minute.'],
    ['lifespan too long', { life_time_duration: 91 * 86400 }, 422, 'The lifespan must be shorter than or equal 90 days.'],
    ['an expiry in the past', { life_time_duration: undefined, life_time_datetime: 1700000000 }, 422, 'The lifespan must be longer than or equal to 1 minute.'],
    ['bad email', { end_user_email: 'customer-at-example.com' }, 422, 'The email address is incorrect.'],
    ['empty payment_currency', { payment_currency: {} }, 422, 'payment_currency must not be empty if provided.'],
    ['empty payment_currency.iso', { payment_currency: { iso: '' } }, 422, 'payment_currency.iso must not be empty if provided.'],
    ['empty payment_currency.network_name', { payment_currency: { iso: 'TST', network_name: '' } }, 422, 'payment_currency.network_name must not be empty if provided.'],
    ['payment_currency network without iso', { payment_currency: { network_name: 'private' } }, 422, 'payment_currency.network_name cannot be specified without payment_currency.iso.'],
    ['unknown payment_currency.iso', { payment_currency: { iso: 'ZZZ' } }, 404, 'payment_currency.iso is incorrect.'],
    ['fiat payment_currency', { payment_currency: { iso: 'USD' } }, 422, 'payment_currency.iso must be a cryptocurrency.'],
    ['payment_currency on another network', { payment_currency: { iso: 'TST', network_name: 'ethereum' } }, 422, 'The combination of currency and network is not supported.'],
    ['payment_currency on no configured chain', { payment_currency: { iso: 'USDC', network_name: 'ethereum' } }, 422, 'payment_currency.iso is disabled.'],
    ['no exchange rate', { payment_currency: { iso: 'ETH', network_name: 'private' } }, 422, 'Exchange rate is not available between EUR and ETH.'],
    ['description too long', { description: long }, 422, 'The description must be 255 characters or less.'],
    ['description empty', { description: '' }, 422, 'The description must not be empty if provided.'],
    ['foreign_id too long', { foreign_id: long }, 422, 'Foreign ID must be 255 characters or less.'],
    ['foreign_id empty', { foreign_id: '' }, 422, 'The foreign_id must not be empty if provided.'],
    ['url_store invalid', { url_store: 'not a url' }, 422, 'The url_store is invalid.'],
    ['url_store on an IP', { url_store: 'https://192.168.1.1/store' }, 422, 'The url_store is invalid.'],
    ['url_store too long', { url_store: longUrl }, 422, 'The url_store must be 255 characters or less.'],
    ['url_success invalid', { url_success: 'http://example.com/ok' }, 422, 'The url_success is invalid.'],
    ['url_success too long', { url_success: longUrl }, 422, 'The url_success must be 255 characters or less.'],
    ['url_failed invalid', { url_failed: 'ftp://example.com/x' }, 422, 'The url_failed is invalid.'],
    ['url_failed too long', { url_failed: longUrl }, 422, 'The url_failed must be 255 characters or less.'],
    ['end_user_reference empty', { end_user_reference: '' }, 422, 'The end_user_reference must not be empty if provided.'],
    ['end_user_reference too long', { end_user_reference: long }, 422, 'The end_user_reference must be 255 characters or less.'],
  ];

  it.each(cases)('%s', async (_name, change, status, text) => {
    const body = JSON.stringify({ ...fiat, foreign_id: `err-${Math.random()}`, ...change });
    const before = (await t.admin.get('/v1/payment-requests?limit=100')).body.data.length as number;
    const res = await create(body);
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ error: text, code: status });
    expect((await t.admin.get('/v1/payment-requests?limit=100')).body.data.length).toBe(before);
  });

  it('formats lifespans in minutes or whole days', () => {
    expect([spanText(60), spanText(900), spanText(86_400), spanText(90 * 86_400), spanText(90)]).toEqual(['1 minute', '15 minutes', '1 day', '90 days', '2 minutes']);
  });
});

describe('authentication', () => {
  const body = () => JSON.stringify({ ...(JSON.parse(FIAT) as object), foreign_id: `auth-${Math.random()}` });
  const shop = () => keys['shop'] as { key: string; secret: string };

  it('matches the HMAC-SHA512 test vector of AlphaPo\'s documentation', () => {
    expect(processingSignature('AbCdEfG123456', '{"currency":"BTC","foreign_id":"123456"}')).toBe('03c25fcf7cd35e7d995e402cd5d51edd72d48e1471e865907967809a0c189ba55b90815f20e2bb10f82c7a9e9d865546fda58989c2ae9e8e2ff7bc29195fa1ec');
  });

  it('answers each documented 403 and 400, storing nothing', async () => {
    const before = (await t.admin.get('/v1/payment-requests?limit=100')).body.data.length as number;
    const b = body();
    expect(await send('/api/v2/requests', b, { secret: shop().secret })).toEqual({ status: 403, body: { error: 'No key header', code: 'required_header_key' } });
    expect(await send('/api/v2/requests', b, { key: shop().key })).toEqual({ status: 403, body: { error: 'No signature header', code: 'required_header_signature' } });
    expect(await send('/api/v2/requests', b, { key: generateSecret('test'), secret: shop().secret })).toEqual({ status: 403, body: { error: 'Bad key header', code: 'bad_header_key' } });
    expect(await send('/api/v2/requests', b, { key: shop().key, secret: 'the wrong secret' })).toEqual({ status: 403, body: { error: 'Bad signature header', code: 'bad_header_signature' } });
    // Signed, then altered: one more space changes the bytes.
    expect(await send('/api/v2/requests', b.replace('{', '{ '), { key: shop().key, signature: processingSignature(shop().secret, b) })).toEqual({ status: 403, body: { error: 'Bad signature header', code: 'bad_header_signature' } });
    // Upper-case hex is not AlphaPo's signature.
    expect((await send('/api/v2/requests', b, { key: shop().key, signature: processingSignature(shop().secret, b).toUpperCase() })).body.code).toBe('bad_header_signature');
    expect(await send('/api/v2/requests', '{"amount": "1",', { ...shop() })).toEqual({ status: 400, body: { error: 'Bad content format', code: 'bad_content_format' } });
    expect(await send('/api/v2/requests', b, { ...shop() }, 'text/plain')).toEqual({ status: 400, body: { error: 'Bad content format', code: 'bad_content_format' } });
    expect(await send('/api/v2/requests', '[1,2]', { ...shop() })).toEqual({ status: 400, body: { error: 'Bad content format', code: 'bad_content_format' } });
    expect(await send('/api/v2/requests', '{"amount":"1","amount":"2"}', { ...shop() })).toEqual({ status: 400, body: { error: 'Bad content format', code: 'bad_content_format' } });
    const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
    expect((await send('/api/v2/requests', deep, { ...shop() })).status).toBeLessThan(500);
    expect(await send('/api/v2/requests', b, keys['unsigned'] ? { key: keys['unsigned'].key, secret: 'anything' } : {})).toEqual({ status: 403, body: { error: 'Client is not enabled', code: 'client_disabled' } });
    expect(await create(b, 'user')).toEqual({ status: 403, body: { error: 'Merchant is disabled.', code: 403 } });
    expect(await create(b, 'general')).toEqual({ status: 403, body: { error: 'Merchant is disabled.', code: 403 } });
    expect(await send('/api/v2/nowhere', b, { ...shop() })).toEqual({ status: 403, body: { error: 'No key header', code: 'required_header_key' } });
    expect((await t.admin.get('/v1/payment-requests?limit=100')).body.data.length).toBe(before);
  });
});

describe('callbacks', () => {
  const verify = (body: string) => createHmac('sha512', ids['endpointSecret'] as string).update(body).digest('hex');

  it('turns a crypto payment_currency into an on-chain option and calls back processing, then paid, signed over the exact bytes', async () => {
    const body = JSON.stringify({ amount: '10', currency: { iso: 'EUR' }, payment_currency: { iso: 'TST', network_name: 'private' }, life_time_duration: 3600, end_user_email: 'payer@example.com', foreign_id: 'order-chain-1' });
    const res = await create(body);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const data = res.body.data as Record<string, unknown>;
    expect(data['payment_currency']).toEqual({ iso: 'TST', network_name: 'private' });
    const id = data['id'] as string;
    const canonical = (await t.admin.get(`/v1/payment-requests/${id}`)).body;
    const option = canonical.paymentOptions.find((o: { currency: string }) => o.currency === 'TST-private');
    expect(option).toMatchObject({ amount: '20', rate: '2', address: chain.address(5), chainId: chain.client.chain?.id ?? 31337 });

    // A part paid elsewhere (recorded by the operator): processing.
    expect((await t.admin.post(`/v1/payment-requests/${id}/payments`, { amount: '4', reference: 'bank-1' })).status).toBe(201);
    const mine = () => receiver.received.filter((r) => r.json?.payment_request_id === id);
    await receiver.waitFor(() => mine().length >= 1);
    const first = mine()[0];
    expect(first?.json).toMatchObject({
      payment_request_id: id, foreign_id: 'order-chain-1', type: 'payment_request', status: 'processing', end_user_email: 'payer@example.com',
      payment_request_amount: { currency: { iso: 'EUR' }, amount: '10' },
      currency_sent: { currency: { iso: 'TST', network_name: 'private' }, expected_amount: '20', received_amount: '8', remaining_amount: '12' },
      payment_request_address: { currency: { iso: 'TST', network_name: 'private' }, address: chain.address(5) },
    });
    expect(first?.json.expires_at).toBe(Math.floor(Date.parse(canonical.expiresAt) / 1000));

    // The rest on chain, from a wallet, through the proxy: paid once confirmed.
    await chain.fund(2, 100n * 10n ** BigInt(chain.tokenDecimals));
    await payOnChain(t.admin, chain, id, 2, { currency: 'TST-private' });
    await chain.mine(2);
    await receiver.waitFor(() => mine().some((r) => r.json.status === 'paid'), 20_000);
    const calls = mine();
    expect(calls.map((c) => c.json.status)).toEqual(['processing', 'paid']);
    expect(calls[1]?.json.currency_sent).toMatchObject({ received_amount: '20', remaining_amount: '0' });
    for (const call of calls) {
      expect(call.headers['x-processing-key']).toBe(ids['endpoint']);
      expect(call.headers['x-processing-signature']).toBe(verify(call.body));
    }
    // One byte changed no longer verifies.
    expect(verify(calls[1]?.body.replace('"paid"', '"paid" ') ?? '')).not.toBe(calls[1]?.headers['x-processing-signature']);
  });

  it('calls back expired for a request that ran out with nothing paid, and failed for a cancelled, partly paid one', async () => {
    const expiring = (await create(JSON.stringify({ amount: '5', currency: { iso: 'EUR' }, life_time_duration: 60, foreign_id: 'order-exp' }))).body.data as { id: string };
    const partly = (await create(JSON.stringify({ amount: '5', currency: { iso: 'EUR' }, life_time_duration: 600, foreign_id: 'order-fail' }))).body.data as { id: string };
    await t.admin.post(`/v1/payment-requests/${partly.id}/payments`, { amount: '1', reference: 'bank-2' });
    await t.admin.post(`/v1/payment-requests/${partly.id}/cancel`);
    t.clock.advance(61_000);
    const of = (id: string) => receiver.received.filter((r) => r.json?.payment_request_id === id).map((r) => r.json.status as string);
    await receiver.waitFor(() => of(expiring.id).length >= 1 && of(partly.id).length >= 2);
    expect(of(expiring.id)).toEqual(['expired']);
    expect(of(partly.id)).toEqual(['processing', 'failed']);
  });
});

describe('status words', () => {
  it('maps every Payreq status, unpaid and partly paid, to one of AlphaPo\'s words', () => {
    expect(Object.keys(ALPHAPO_STATUS).sort()).toEqual([...PAYMENT_REQUEST_STATUSES].sort());
    const words = new Set(['created', 'processing', 'paid', 'failed', 'expired']);
    for (const w of Object.values(ALPHAPO_STATUS)) {
      expect(words.has(w.unpaid)).toBe(true);
      expect(words.has(w.partlyPaid)).toBe(true);
    }
    expect(alphapoStatus({ status: 'pending', amountPaid: '0' })).toBe('created');
    expect(alphapoStatus({ status: 'pending', amountPaid: '0.01' })).toBe('processing');
    expect(alphapoStatus({ status: 'cancelled', amountPaid: '0' })).toBe('expired');
    expect(alphapoStatus({ status: 'expired', amountPaid: '2' })).toBe('failed');
    expect(alphapoStatus({ status: 'refunded', amountPaid: '5' })).toBe('paid');
  });
});
