/** Without `PAYREQ_CHAINS` the EVM rail is off: wallet accounts can exist, but nothing is payable on chain, with a clear 4xx. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRequest, createUser } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ fxRates: { 'USD/USDC-sepolia': '1' } });
});
afterAll(async () => {
  await t.close();
});

describe('the EVM rail off', () => {
  it('answers a pay call with 422 chain_not_configured and stores nothing', async () => {
    const party = await createUser(t.admin);
    const wallet = await t.admin.post('/v1/accounts', { partyId: party, currency: 'USDC-sepolia', address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' });
    expect(wallet.status).toBe(201);
    const pr = await createRequest(t.admin, wallet.body.id, { amount: '5', currency: 'USDC-sepolia' });
    expect(pr.paymentOptions[0]).toMatchObject({ currency: 'USDC-sepolia', chainId: null, paymentReference: null, uri: null });
    const pay = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?wallet=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC`);
    expect(pay.status).toBe(422);
    expect(pay.body).toMatchObject({ code: 'chain_not_configured' });
    const named = await t.admin.get(`/v1/payment-requests/${pr.id}/pay?wallet=0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC&currency=USDC-sepolia`);
    expect(named.status).toBe(422);
    expect(named.body.errors).toEqual([{ path: 'currency', message: expect.stringContaining('PAYREQ_CHAINS') }]);
  });

  it('refuses a receiving address on an option, and the Request Network dialect refuses the payment currency', async () => {
    const party = await createUser(t.admin);
    const usd = (await t.admin.post('/v1/accounts', { partyId: party, currency: 'USD' })).body.id;
    const res = await t.admin.post('/v1/payment-requests', { amount: '1', currency: 'USD', payee: { accountId: usd }, expiresIn: 600, paymentOptions: [{ currency: 'USDC-sepolia', address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' }] });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'chain_not_configured', errors: [{ path: 'paymentOptions.0.address' }] });
    const rn = await fetch(`${t.url}/compat/request-network/v1/request`, {
      method: 'POST',
      headers: { 'x-api-key': t.adminKey, 'content-type': 'application/json' },
      body: JSON.stringify({ payee: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8', amount: '1', invoiceCurrency: 'USD', paymentCurrency: 'USDC-sepolia' }),
    });
    expect(rn.status).toBe(400);
    expect(await rn.json()).toMatchObject({ statusCode: 400, message: 'Validation failed', errors: [{ field: 'paymentCurrency' }] });
  });
});
