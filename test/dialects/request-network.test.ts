/**
 * The Request Network dialect at `/compat/request-network`, on a real chain: a client written
 * the way Request Network's reference client (easy-invoice, https://github.com/RequestNetwork/easy-invoice) uses the hosted API — create, ask
 * for the transactions, send every one but `paymentTransactionIndex`, then that one, poll the
 * status — pays requests created with v1 and with v2; `request-network` webhooks arrive signed
 * as docs/dialects/request-network.md#webhooks says, verifiable over the raw body and over re-serialized JSON.
 */
import { createHmac } from 'node:crypto';
import { decodeFunctionData, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { paymentReference } from '../../src/domain/ids.js';
import { fromRequestId } from '../../src/dialects/request-network/ids.js';
import { factory, startTestChain, type TestChain } from '../support/chain.js';
import { Client } from '../support/client.js';
import { startChainServer, units } from '../support/evm.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import type { TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

let chain: TestChain;
let t: TestServer;
let receiver: Receiver;
let rn: Client;
let hook: { id: string; secret: string };
const PAYER = 2;

/** A Request Network API client: `x-api-key`, JSON in and out. */
class RequestNetworkClient {
  constructor(private readonly base: string, private readonly apiKey: string | undefined) {}
  async call(method: string, path: string, body?: unknown) {
    const headers: Record<string, string> = {};
    if (this.apiKey !== undefined) headers['x-api-key'] = this.apiKey;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${this.base}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }
}

/** easy-invoice's `normalizeValue`: a number, a string, or ethers v5's `{type: "BigNumber", hex}`. */
function normalizeValue(value: unknown): bigint {
  if (typeof value === 'number' || typeof value === 'string') return BigInt(value);
  if (typeof value === 'object' && value !== null && 'hex' in value) return BigInt((value as { hex: string }).hex);
  throw new Error(`unexpected value ${JSON.stringify(value)}`);
}

/** easy-invoice's payment section: every transaction but paymentTransactionIndex (approvals), then that one. */
async function sendLikeEasyInvoice(payResponse: { transactions: { to: Hex; data: Hex; value: unknown }[]; metadata: { paymentTransactionIndex: number } }, payer: number): Promise<Hex> {
  const { transactions, metadata } = payResponse;
  for (const [i, tx] of transactions.entries()) {
    if (i !== metadata.paymentTransactionIndex) await chain.send(payer, { to: tx.to, data: tx.data, value: normalizeValue(tx.value) });
  }
  const payment = transactions[metadata.paymentTransactionIndex]!;
  return chain.send(payer, { to: payment.to, data: payment.data, value: normalizeValue(payment.value) });
}

let api: RequestNetworkClient;
beforeAll(async () => {
  chain = await startTestChain();
  t = await startChainServer(chain);
  receiver = await startReceiver();
  rn = new Client(`${t.url}/compat/request-network`, undefined);
  api = new RequestNetworkClient(`${t.url}/compat/request-network`, t.adminKey);
  await chain.fund(PAYER, units('1000000'));
  const res = await api.call('POST', '/v1/webhook', { url: `${receiver.url}/rn` });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(Object.keys(res.body).sort()).toEqual(['id', 'secret']);
  expect(res.body.secret).toMatch(/^[0-9a-f]{64}$/);
  hook = res.body;
});
afterAll(async () => {
  await t?.close();
  await receiver?.close();
  await chain?.close();
});

function verifyBoth(received: { body: string; headers: Record<string, unknown> }, secret: string): void {
  const signature = received.headers['x-request-network-signature'];
  expect(signature).toBe(createHmac('sha256', secret).update(received.body).digest('hex'));
  // A receiver that re-serializes the parsed body (easy-invoice, the older docs) verifies too.
  expect(signature).toBe(createHmac('sha256', secret).update(JSON.stringify(JSON.parse(received.body))).digest('hex'));
}

describe('v1: create by payee address, pay, status by payment reference', () => {
  it('is paid by a client following the hosted API, and reports hasBeenPaid with the txHash', async () => {
    const payee = chain.address(11);
    const created = await api.call('POST', '/v1/request', { payee, amount: '10', invoiceCurrency: 'TST-private', paymentCurrency: 'TST-private' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['paymentReference', 'requestID']);
    expect(created.body.paymentReference).toMatch(/^0x[0-9a-f]{16}$/);
    expect(created.body.requestID).toMatch(/^01[0-9a-f]{64}$/);
    // The reference is Request Network's formula over the request id, its salt and the payee address.
    const id = fromRequestId(created.body.requestID)!;
    const canonical = (await t.admin.get(`/v1/payment-requests/${id}`)).body;
    expect(canonical.paymentOptions[0].paymentReference).toBe(created.body.paymentReference);
    const row = await t.server.deps.store.db.selectFrom('payment_requests').select('salt').where('id', '=', id).executeTakeFirstOrThrow();
    expect(`0x${paymentReference(id, row.salt, payee)}`).toBe(created.body.paymentReference);

    const ref = created.body.paymentReference as string;
    const before = await api.call('GET', `/v1/request/${ref}`);
    expect(before.body).toEqual({ hasBeenPaid: false, paymentReference: ref, requestId: created.body.requestID, isListening: false, txHash: null });

    const pay = await api.call('GET', `/v1/request/${ref}/pay?wallet=${chain.address(PAYER)}`);
    expect(pay.status, JSON.stringify(pay.body)).toBe(200);
    expect(Object.keys(pay.body).sort()).toEqual(['metadata', 'transactions']);
    expect(pay.body.transactions).toHaveLength(2);
    expect(pay.body.transactions[0].value).toBe(0);
    expect(pay.body.metadata).toEqual({ stepsRequired: 2, needsApproval: true, approvalTransactionIndex: 0, paymentTransactionIndex: 1, hasEnoughBalance: true, hasEnoughGas: true });
    expect((await api.call('GET', `/v1/request/${ref}`)).body.isListening).toBe(true);

    const txHash = await sendLikeEasyInvoice(pay.body, PAYER);
    await chain.mine(3);
    await waitUntil(async () => (await api.call('GET', `/v1/request/${ref}`)).body.hasBeenPaid === true, 15_000, 'hasBeenPaid');
    expect((await api.call('GET', `/v1/request/${ref}`)).body).toEqual({ hasBeenPaid: true, paymentReference: ref, requestId: created.body.requestID, isListening: false, txHash });

    await receiver.waitFor((r) => r.some((x) => x.json?.requestId === created.body.requestID));
    const delivered = receiver.received.find((x) => x.json?.requestId === created.body.requestID)!;
    verifyBoth(delivered, hook.secret);
    expect(delivered.json).toMatchObject({ event: 'payment.confirmed', requestId: created.body.requestID, requestID: created.body.requestID, paymentReference: ref, txHash, amount: '10', totalAmountPaid: '10', expectedAmount: '10', network: 'private', currency: 'TST', paymentCurrency: 'TST', payerAddress: chain.address(PAYER).toLowerCase() });
    expect(delivered.headers['x-request-network-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(delivered.headers['x-request-network-retry-count']).toBe('0');
    expect(delivered.headers['content-type']).toBe('application/json');
  });
});

describe('v2: an invoice in USD paid in a token, partly then fully', () => {
  it('pays with /v2/request/{requestId}/pay, sends payment.partial then payment.confirmed, and shows the payments', async () => {
    const created = await api.call('POST', '/v2/request', { payee: chain.address(12), amount: '30', invoiceCurrency: 'USD', paymentCurrency: 'TST-private', reference: 'INV-7', customerInfo: { email: 'ana@example.com' } });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(Object.keys(created.body).sort()).toEqual(['paymentReference', 'requestId']);
    const { requestId } = created.body;

    const partial = await api.call('GET', `/v2/request/${requestId}/pay?wallet=${chain.address(PAYER)}&amount=12`);
    expect(partial.status, JSON.stringify(partial.body)).toBe(200);
    await sendLikeEasyInvoice(partial.body, PAYER);
    await chain.mine(3);
    await waitUntil(async () => (await api.call('GET', `/v2/request/${requestId}`)).body.status === 'partially_paid', 15_000, 'partially_paid');

    // The rest, with a 2% platform fee on top to another address.
    const fee = chain.address(13);
    const rest = await api.call('GET', `/v2/request/${requestId}/pay?wallet=${chain.address(PAYER)}&feePercentage=2&feeAddress=${fee}`);
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    expect(rest.body.transactions).toHaveLength(1); // the allowance from the first payment covers it
    const call = decodeFunctionData({ abi: factory('ERC20FeeProxy__factory.js', 'ERC20FeeProxy').abi, data: rest.body.transactions[0].data });
    const args = call.args as readonly unknown[];
    expect(args[2]).toBe(units('18'));
    expect(args[4]).toBe(units('0.36'));
    expect(args[5]).toBe(fee);
    const txHash = await sendLikeEasyInvoice(rest.body, PAYER);
    await chain.mine(3);
    await waitUntil(async () => (await api.call('GET', `/v2/request/${requestId}`)).body.hasBeenPaid === true, 15_000, 'hasBeenPaid');
    const status = (await api.call('GET', `/v2/request/${requestId}`)).body;
    expect(status).toMatchObject({ hasBeenPaid: true, requestId, paymentReference: created.body.paymentReference, isListening: false, txHash, status: 'paid', reference: 'INV-7', customerInfo: { email: 'ana@example.com' } });
    expect(status.payments.map((p: { amount: string }) => p.amount)).toEqual(['12', '18']);
    expect(status.payments[1]).toMatchObject({ txHash, feeAmount: '0.36', feeAddress: fee.toLowerCase() });

    await receiver.waitFor((r) => r.filter((x) => x.json?.requestId === requestId).length === 2);
    const events = receiver.received.filter((x) => x.json?.requestId === requestId);
    expect(events.map((e) => e.json.event)).toEqual(['payment.partial', 'payment.confirmed']);
    expect(events[0]!.json).toMatchObject({ amount: '12', totalAmountPaid: '12', expectedAmount: '30', currency: 'USD', paymentCurrency: 'TST' });
    expect(events[1]!.json).toMatchObject({ amount: '18', totalAmountPaid: '30', fees: [{ type: 'platform', amount: '0.36', currency: 'TST' }] });
    for (const e of events) verifyBoth(e, hook.secret);
  });
});

describe('errors in the hosted API\'s shapes', () => {
  it('answers a bad wallet with the documented validation body', async () => {
    const created = await api.call('POST', '/v1/request', { payee: chain.address(14), amount: '1', invoiceCurrency: 'TST-private', paymentCurrency: 'TST-private' });
    const res = await api.call('GET', `/v1/request/${created.body.paymentReference}/pay?wallet=0xnot-an-address`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ message: 'Validation failed', errors: [{ field: 'wallet', message: 'Invalid Ethereum address' }] });
    const v2 = await api.call('GET', `/v2/request/${created.body.requestID}/pay?wallet=123`);
    expect(v2.status).toBe(400);
    expect(v2.body).toEqual({ message: 'Validation failed', errors: [{ field: 'wallet', message: 'Invalid Ethereum address' }] });
  });

  it('answers 401 without a key or with an unknown one', async () => {
    const missing = await rn.get('/v1/request/0x86dfbccad783599a');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ statusCode: 401, message: 'Unauthorized', error: 'Unauthorized' });
    const unknown = await new RequestNetworkClient(`${t.url}/compat/request-network`, 'prq_test_0000000000000000000000').call('POST', '/v1/request', {});
    expect(unknown.status).toBe(401);
  });

  it('answers 404 "Request not found" for an unknown reference or request id', async () => {
    const byRef = await api.call('GET', '/v1/request/0x86dfbccad783599a');
    expect(byRef.status).toBe(404);
    expect(byRef.body).toEqual({ statusCode: 404, message: 'Request not found', error: 'Not Found' });
    const byId = await api.call('GET', `/v2/request/01${'ab'.repeat(32)}`);
    expect(byId.status).toBe(404);
  });

  it('answers 400 for a bad create body and stores nothing', async () => {
    const count = async () => (await t.server.deps.store.db.selectFrom('payment_requests').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    const before = Number(await count());
    const missing = await api.call('POST', '/v1/request', { amount: '1', invoiceCurrency: 'TST-private', paymentCurrency: 'TST-private' });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ statusCode: 400, message: 'Validation failed', error: 'Bad Request', errors: [{ field: 'payee' }] });
    const badPayee = await api.call('POST', '/v1/request', { payee: '0x12', amount: '1', invoiceCurrency: 'TST-private', paymentCurrency: 'TST-private' });
    expect(badPayee.status).toBe(400);
    expect(badPayee.body.errors).toEqual([{ field: 'payee', message: expect.stringContaining('address') }]);
    const number = await api.call('POST', '/v1/request', { payee: chain.address(15), amount: 1, invoiceCurrency: 'TST-private', paymentCurrency: 'TST-private' });
    expect(number.status).toBe(400);
    const offChain = await api.call('POST', '/v1/request', { payee: chain.address(15), amount: '1', invoiceCurrency: 'USD', paymentCurrency: 'USDC-mainnet' });
    expect(offChain.status).toBe(400);
    expect(offChain.body.errors[0].field).toBe('paymentCurrency');
    const crosschain = await api.call('GET', `/v2/request/01${'ab'.repeat(32)}/pay?chain=BASE&token=USDC`);
    expect(crosschain.status).toBe(404);
    expect(Number(await count())).toBe(before);
  });

  it('keeps the delivery id and counts retries when the receiver fails first', async () => {
    const flaky = await startReceiver();
    try {
      flaky.answer = (_req, index) => ({ status: index === 0 ? 500 : 200 });
      const registered = await api.call('POST', '/v1/webhook', { url: `${flaky.url}/rn` });
      const created = await api.call('POST', '/v1/request', { payee: chain.address(16), amount: '2', invoiceCurrency: 'TST-private', paymentCurrency: 'TST-private' });
      const pay = await api.call('GET', `/v1/request/${created.body.paymentReference}/pay?wallet=${chain.address(PAYER)}`);
      await sendLikeEasyInvoice(pay.body, PAYER);
      await chain.mine(3);
      await flaky.waitFor((r) => r.length >= 2, 15_000);
      const [first, second] = flaky.received;
      expect(first!.headers['x-request-network-delivery']).toBe(second!.headers['x-request-network-delivery']);
      expect([first!.headers['x-request-network-retry-count'], second!.headers['x-request-network-retry-count']]).toEqual(['0', '1']);
      expect(first!.body).toBe(second!.body);
      verifyBoth(second!, registered.body.secret);
      const list = await api.call('GET', '/v1/webhook');
      expect(list.body.map((w: { id: string }) => w.id)).toContain(registered.body.id);
      // The same endpoint through the canonical API, with its format.
      const canonical = await t.admin.get(`/v1/webhook-endpoints/${registered.body.id}`);
      expect(canonical.body).toMatchObject({ format: 'request-network', url: `${flaky.url}/rn` });
    } finally {
      await flaky.close();
    }
  });
});
