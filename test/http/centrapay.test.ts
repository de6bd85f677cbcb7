/**
 * Centrapay's merchant flow in canonical form (https://docs.centrapay.com/api/payment-requests): a
 * merchant's request with line items (a negative price is a discount) and payment options in
 * other assets at a quoted amount; paid by one or more transactions; refunded partly and
 * fully for a short period after being paid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, createAccount, createKey, createMerchant, createRequest, createUser, createUserWithAccount, unique } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
let merchantAccount: string;
beforeAll(async () => {
  t = await startTestServer({ fxRates: { 'NZD/USD': '0.6', 'NZD/USDC-mainnet': '0.6' }, refundWindowSeconds: 3600 });
  const merchant = await createMerchant(t.admin, 'Centrapay Café', { merchantConfigId: '5efbe2fb96c08357bb2b9242' });
  merchantAccount = await createAccount(t.admin, merchant, 'NZD');
});
afterAll(() => t.close());

const lineItems = [
  { name: 'Flat white', sku: 'FW-1', qty: '2', price: '11.00' },
  { name: 'Muffin', sku: 'MF-1', qty: '1', price: '5.50' },
  { name: 'Loyalty discount', sku: 'DISC', qty: '1', price: '-1.50' },
];

describe('Centrapay merchant request', () => {
  it('creates a request with line items, merchant details and quoted payment options', async () => {
    const patron = await createUser(t.admin);
    const code = await t.admin.post(`/v1/parties/${patron}/patron-codes`);
    expect(code.status).toBe(201);
    expect(code.body).toMatchObject({ object: 'patron_code', partyId: patron, mode: 'test' });
    const pr = await createRequest(t.admin, merchantAccount, {
      amount: '15.00', currency: 'NZD', lineItems, expiresIn: 120, patronCodeId: code.body.id,
      paymentOptions: [{ currency: 'USD' }, { currency: 'USDC-mainnet' }],
    });
    expect(pr.lineItems).toEqual(lineItems);
    expect(pr.merchant).toMatchObject({ name: 'Centrapay Café', merchantConfigId: '5efbe2fb96c08357bb2b9242' });
    expect(pr.patronCodeId).toBe(code.body.id);
    // The patron code's party is the payer.
    expect(pr.payer).toMatchObject({ partyId: patron, accountId: null });
    expect(pr.paymentOptions.map(({ currency, amount, rate, network }: Record<string, unknown>) => ({ currency, amount, rate, network }))).toEqual([
      { currency: 'NZD', amount: '15.00', rate: '1', network: null },
      { currency: 'USD', amount: '9.00', rate: '0.6', network: null },
      { currency: 'USDC-mainnet', amount: '9', rate: '0.6', network: 'mainnet' },
    ]);
    expect(pr.paymentLink).toBe(`${t.url}/pay/${pr.code}`);
    expect(Date.parse(pr.expiresAt) - Date.parse(pr.createdAt)).toBe(120_000);
  });

  it('rejects line items that do not sum to the amount', async () => {
    const res = await t.admin.post('/v1/payment-requests', { amount: '16.00', currency: 'NZD', payee: { accountId: merchantAccount }, lineItems, expiresIn: 120 });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('line_items_mismatch');
  });

  it('answers rate_unavailable for a payment option without a configured rate', async () => {
    const res = await t.admin.post('/v1/payment-requests', { amount: '1', currency: 'NZD', payee: { accountId: merchantAccount }, paymentOptions: [{ currency: 'EUR' }], expiresIn: 120 });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'rate_unavailable', errors: [{ path: 'paymentOptions.0.currency' }] });
  });

  it('is paid by a patron in another currency at the quoted amount, each currency still summing to zero', async () => {
    const patron = await createUserWithAccount(t.admin, 'USD', '20');
    const pr = await createRequest(t.admin, merchantAccount, { amount: '15.00', currency: 'NZD', paymentOptions: [{ currency: 'USD' }] });
    const before = await balanceOf(t.admin, merchantAccount);
    const paid = await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: patron.accountId });
    expect(paid.body).toMatchObject({ status: 'paid', amountPaid: '15.00' });
    expect(await balanceOf(t.admin, patron.accountId)).toBe('11.00');
    expect(Number(await balanceOf(t.admin, merchantAccount)) - Number(before)).toBe(15);
  });

  it('accumulates external partial payments, is idempotent by reference, then refunds partly and fully', async () => {
    const pr = await createRequest(t.admin, merchantAccount, { amount: '100', currency: 'NZD' });
    const ref1 = unique('txn');
    const first = await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '40', reference: ref1 });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ status: 'applied', appliedAmount: '40.00', paymentRequest: { status: 'pending', amountPaid: '40.00' } });
    const replay = await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '40', reference: ref1 });
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(first.body.id);
    expect(replay.body.paymentRequest.amountPaid).toBe('40.00');
    const conflict = await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '41', reference: ref1 });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('payment_reference_conflict');

    const second = await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '60', reference: unique('txn') });
    expect(second.body.paymentRequest).toMatchObject({ status: 'paid', amountPaid: '100.00' });

    const tooMuch = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '100.01' });
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.code).toBe('refund_exceeds_paid');

    const partial = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '30', reason: 'cold coffee' });
    expect(partial.status).toBe(201);
    expect(partial.body).toMatchObject({ amount: '30.00', reason: 'cold coffee', paymentRequest: { status: 'paid', amountRefunded: '30.00' } });
    const rest = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '70' });
    expect(rest.body.paymentRequest).toMatchObject({ status: 'refunded', amountRefunded: '100.00' });
    const after = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '1' });
    expect(after.status).toBe(409);
    expect(after.body).toMatchObject({ code: 'invalid_transition', currentStatus: 'refunded' });

    const types = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data.map((e: { type: string }) => e.type);
    expect(types).toEqual([
      'payment_request.created', 'payment.received', 'payment.received', 'payment_request.paid',
      'refund.created', 'refund.completed', 'refund.created', 'refund.completed', 'payment_request.refunded',
    ]);
  });

  it('refunds a ledger payment back to the payer account, across currencies at the original quote', async () => {
    const patron = await createUserWithAccount(t.admin, 'USD', '9');
    const pr = await createRequest(t.admin, merchantAccount, { amount: '15', currency: 'NZD', paymentOptions: [{ currency: 'USD' }] });
    await t.admin.post(`/v1/payment-requests/${pr.id}/approve`, { accountId: patron.accountId });
    expect(await balanceOf(t.admin, patron.accountId)).toBe('0.00');
    await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '5' });
    expect(await balanceOf(t.admin, patron.accountId)).toBe('3.00');
    const full = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '10' });
    expect(full.body.paymentRequest.status).toBe('refunded');
    expect(await balanceOf(t.admin, patron.accountId)).toBe('9.00');
  });

  it('closes the refund window after the configured time', async () => {
    const pr = await createRequest(t.admin, merchantAccount, { amount: '10', currency: 'NZD', expiresIn: 7200 });
    await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '10', reference: unique('txn') });
    t.clock.advance(3601_000);
    const res = await t.admin.post(`/v1/payment-requests/${pr.id}/refunds`, { amount: '1' });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('refund_window_closed');
  });

  it('records a payment for a cancelled request, flagged for refund, without changing its status', async () => {
    const pr = await createRequest(t.admin, merchantAccount, { amount: '10', currency: 'NZD' });
    await t.admin.post(`/v1/payment-requests/${pr.id}/cancel`);
    const before = await balanceOf(t.admin, merchantAccount);
    const res = await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '10', reference: unique('late') });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'requires_refund', appliedAmount: '0.00', paymentRequest: { status: 'cancelled', amountPaid: '0.00' } });
    expect(await balanceOf(t.admin, merchantAccount)).toBe(before);
    const last = (await t.admin.get(`/v1/payment-requests/${pr.id}/events`)).body.data.at(-1);
    expect(last).toMatchObject({ type: 'payment.received', data: { payment: { status: 'requires_refund' } } });
  });

  it('takes a payment in a payment option currency for its share of the invoice', async () => {
    const pr = await createRequest(t.admin, merchantAccount, { amount: '15', currency: 'NZD', paymentOptions: [{ currency: 'USDC-mainnet' }] });
    const half = await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '4.5', currency: 'USDC-mainnet', reference: unique('0xabc') });
    expect(half.body).toMatchObject({ currency: 'USDC-mainnet', amount: '4.5', appliedAmount: '7.50', paymentRequest: { status: 'pending', amountPaid: '7.50' } });
    const wrong = await t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '1', currency: 'EUR', reference: unique('x') });
    expect(wrong.status).toBe(422);
    expect(wrong.body.code).toBe('currency_mismatch');
  });
});

describe('patron codes', () => {
  it('refuses an unknown patron code and a payer that is not the code\'s party, storing nothing', async () => {
    const unknown = await t.admin.post('/v1/payment-requests', { amount: '1', currency: 'NZD', payee: { accountId: merchantAccount }, expiresIn: 120, patronCodeId: 'V17FByEP9gm1shSG6a1Zzx' });
    expect(unknown.status).toBe(422);
    expect(unknown.body).toMatchObject({ code: 'patron_code_not_found', errors: [{ path: 'patronCodeId' }] });
    const patron = await createUser(t.admin);
    const other = await createUser(t.admin);
    const code = (await t.admin.post(`/v1/parties/${patron}/patron-codes`)).body.id as string;
    const mismatch = await t.admin.post('/v1/payment-requests', { amount: '1', currency: 'NZD', payee: { accountId: merchantAccount }, expiresIn: 120, patronCodeId: code, payer: { partyId: other } });
    expect(mismatch.status).toBe(422);
    expect((await t.admin.get(`/v1/parties/${patron}/payment-requests?direction=incoming`)).body.data).toEqual([]);
    expect((await t.admin.get(`/v1/parties/${patron}/patron-codes`)).body.data.map((c: { id: string }) => c.id)).toEqual([code]);
  });

  it('lets a key scoped to the patron create its own code, but not another party\'s', async () => {
    const patron = await createUser(t.admin);
    const other = await createUser(t.admin);
    const key = t.client(await createKey(t.admin, [{ permission: 'payment_requests:pay', partyId: patron }]));
    expect((await key.post(`/v1/parties/${patron}/patron-codes`)).status).toBe(201);
    const refused = await key.post(`/v1/parties/${other}/patron-codes`);
    expect(refused.status).toBe(404);
    expect(refused.body.code).toBe('party_not_found');
  });
});

describe('merchant configurations', () => {
  it('defaults to the payee account\'s asset type and maps asset types to currencies by mode', async () => {
    const made = await t.admin.post('/v1/merchant-configs', { name: 'Till 1', payeeAccountId: merchantAccount });
    expect(made.status, JSON.stringify(made.body)).toBe(201);
    expect(made.body).toMatchObject({ object: 'merchant_config', name: 'Till 1', payeeAccountId: merchantAccount, assetTypes: ['centrapay.nzd.test'], currencies: ['NZD'] });
    expect((await t.admin.get(`/v1/merchant-configs/${made.body.id as string}`)).body).toEqual(made.body);
    expect((await t.admin.get('/v1/merchant-configs')).body.data.map((c: { id: string }) => c.id)).toContain(made.body.id);
    const two = await t.admin.post('/v1/merchant-configs', { name: 'Till 2', payeeAccountId: merchantAccount, assetTypes: ['centrapay.nzd.test', 'centrapay.usd.test', 'usdc-mainnet.test'] });
    expect(two.body.currencies).toEqual(['NZD', 'USD', 'USDC-mainnet']);
    for (const bad of ['centrapay.nzd.main', 'centrapay.xxx.test', 'centrapay.NZD.test', 'nzd']) {
      const res = await t.admin.post('/v1/merchant-configs', { name: 'x', payeeAccountId: merchantAccount, assetTypes: [bad] });
      expect(res.status, bad).toBe(422);
      expect(res.body.errors[0].path).toBe('assetTypes.0');
    }
    const missing = await t.admin.get('/v1/merchant-configs/01890000-0000-7000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('merchant_config_not_found');
  });
});

describe('refunds by reference', () => {
  it('refunds by reference idempotently, and refuses a reused reference with another amount', async () => {
    const patron = await createUserWithAccount(t.admin, 'NZD', '100');
    const pr = await createRequest(t.admin, merchantAccount, { amount: '30', currency: 'NZD', payer: { partyId: patron.partyId } });
    const refunded = await t.admin.post(`/v1/payment-requests/${pr.id as string}/refunds`, { amount: '1', reference: 'r-early' });
    expect(refunded.status).toBe(409);
    await t.admin.post(`/v1/payment-requests/${pr.id as string}/approve`, { accountId: patron.accountId });
    const first = await t.admin.post(`/v1/payment-requests/${pr.id as string}/refunds`, { amount: '10', reference: 'r-1' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ amount: '10.00', reference: 'r-1' });
    const again = await t.admin.post(`/v1/payment-requests/${pr.id as string}/refunds`, { amount: '10', reference: 'r-1' });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.paymentRequest.amountRefunded).toBe('10.00');
    const conflict = await t.admin.post(`/v1/payment-requests/${pr.id as string}/refunds`, { amount: '11', reference: 'r-1' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.code).toBe('refund_reference_conflict');
    expect(await balanceOf(t.admin, patron.accountId)).toBe('80.00');
  });
});
