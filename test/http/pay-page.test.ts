/**
 * The hosted pay page over real HTTP: only public fields, a strict CSP whose nonce is the only
 * way a script or style runs, amounts in the reader's locale, a plain 404 for unknown and
 * malformed codes, the public status stream turning to paid when the test-mode simulate button's
 * call pays, simulate refused in live mode, and the per-address rate limit on `/pay`.
 * (Browser-driven tests of the same page come with the wallet flow.)
 */
import jsqr from 'jsqr';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestChain } from '../support/chain.js';
import { createWalletPayee, startChainServer } from '../support/evm.js';
import { bootstrap, generateSecret } from '../../src/app/api-keys.js';
import { createRequest, createUserWithAccount } from '../support/factories.js';
import { openSse } from '../support/sse.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ payPageRateLimitPerMinute: 1000 });
});
afterAll(() => t.close());

describe('/pay/{code}', () => {
  it('shows only public fields under a strict CSP, in the reader\'s locale', async () => {
    const payee = await createUserWithAccount(t.admin, 'EUR', undefined, { username: 'page-shop' });
    const pr = await createRequest(t.admin, payee.accountId, { amount: '1234.5', currency: 'EUR', description: 'Order <b>#7</b>', lineItems: [{ name: 'Lamp', sku: 'L1', qty: '1', price: '1234.50' }], redirectUrls: { store: 'https://shop.example/cart', success: 'https://shop.example/thanks' } });
    const res = await fetch(`${t.url}/pay/${pr.code as string}`, { headers: { 'accept-language': 'de-DE' } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const html = await res.text();
    // Every script and style carries the nonce; nothing else can run.
    expect(html.match(/<script\b[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
    expect(html.match(/<style\b[^>]*>/g)).toEqual([`<style nonce="${nonce}">`]);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).toContain('1.234,50\u00a0€');
    expect(html).toContain('page-shop asks you to pay');
    expect(html).toContain('Order &#60;b&#62;#7&#60;/b&#62;');
    expect(html).toContain('<caption>Items</caption>');
    expect(html).toContain('Simulate payment (test mode)');
    expect(html).toContain('href="https://shop.example/cart"');
    expect(html).toContain('aria-live="polite"');
    expect(html).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    // No ids: not the request's, not the accounts', not the parties'.
    for (const id of [pr.id, payee.accountId, payee.partyId]) expect(html).not.toContain(id);
  });

  it('answers a plain 404 for unknown and malformed codes', async () => {
    for (const code of ['AAAA-BBBB-CCCC', 'nope', 'AAAA-BBBB-CCCC-DDDD', '%3Cscript%3E']) {
      const res = await fetch(`${t.url}/pay/${code}`);
      expect(res.status, code).toBe(404);
      expect(await res.text()).toContain('No such payment request');
    }
    expect((await fetch(`${t.url}/pay/AAAA-BBBB-CCCC/events`)).status).toBe(404);
    expect((await fetch(`${t.url}/pay/AAAA-BBBB-CCCC/simulate`, { method: 'POST' })).status).toBe(404);
  });

  it('streams the public status and turns to paid when the simulate call pays', async () => {
    const payee = await createUserWithAccount(t.admin, 'USD');
    const pr = await createRequest(t.admin, payee.accountId, { amount: '25.50' });
    const stream = await openSse(`${t.url}/pay/${pr.code as string}/events`, '');
    expect(stream.status).toBe(200);
    await stream.waitFor((m) => m.some((x) => x.event === 'status' && x.data.status === 'pending'));
    expect(Object.keys(stream.messages[0]?.data as object).sort()).toEqual(['amount', 'amountPaid', 'amountPaidText', 'currency', 'sequence', 'status']);
    const simulated = await fetch(`${t.url}/pay/${pr.code as string}/simulate`, { method: 'POST' });
    expect(simulated.status).toBe(200);
    await stream.waitFor((m) => m.some((x) => x.data?.status === 'paid'), 10_000);
    expect(stream.messages.at(-1)?.data).toMatchObject({ status: 'paid', amountPaid: '25.50', amountPaidText: '$25.50' });
    stream.close();
    expect((await t.admin.get(`/v1/payment-requests/${pr.id as string}`)).body).toMatchObject({ status: 'paid', amountPaid: '25.50' });
    const again = await fetch(`${t.url}/pay/${pr.code as string}/simulate`, { method: 'POST' });
    expect(again.status).toBe(409);
  });

  it('reads the database no more for 60 open status streams than for one, and each still turns to paid', async () => {
    const queries = async () => Number(/^payreq_db_queries_total (\d+)/m.exec(await (await fetch(`${t.url}/metrics`)).text())?.[1]);
    const perSecond = async () => {
      const before = await queries();
      await new Promise((r) => setTimeout(r, 1000));
      return (await queries()) - before;
    };
    const payee = await createUserWithAccount(t.admin, 'USD');
    const requests = await Promise.all(Array.from({ length: 60 }, () => createRequest(t.admin, payee.accountId, { amount: '1.00' })));
    const first = await openSse(`${t.url}/pay/${requests[0]?.code as string}/events`, '');
    await first.waitFor((m) => m.length === 1);
    const withOne = await perSecond();
    const rest = await Promise.all(requests.slice(1).map((pr) => openSse(`${t.url}/pay/${pr.code as string}/events`, '')));
    for (const s of rest) await s.waitFor((m) => m.length === 1);
    const withMany = await perSecond();
    // Each page re-reading its request every second would add 59 queries a second.
    expect(withMany, `${withOne} queries/s with one page, ${withMany} with 60`).toBeLessThan(withOne + 20);
    const streams = [first, ...rest];
    await Promise.all(requests.map((pr) => fetch(`${t.url}/pay/${pr.code as string}/simulate`, { method: 'POST' })));
    for (const s of streams) await s.waitFor((m) => m.some((x) => x.data?.status === 'paid'), 10_000);
    for (const s of streams) s.close();
  });

  it('refuses to simulate a live-mode payment', async () => {
    const liveSecret = generateSecret('live');
    await bootstrap(t.server.deps, liveSecret);
    const live = t.client(liveSecret);
    const payee = await createUserWithAccount(live, 'USD');
    const pr = await createRequest(live, payee.accountId);
    const res = await fetch(`${t.url}/pay/${pr.code as string}/simulate`, { method: 'POST' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: 'test_mode_only' });
    expect(await (await fetch(`${t.url}/pay/${pr.code as string}`)).text()).not.toContain('Simulate payment');
  });

  it('rate-limits /pay per client address', async () => {
    const limited = await startTestServer({ payPageRateLimitPerMinute: 5 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await fetch(`${limited.url}/pay/AAAA-BBBB-CC${String(i).padStart(2, '0')}`)).status);
      expect(statuses).toEqual([404, 404, 404, 404, 404, 429, 429]);
      // The API itself is not limited by the page's limit.
      expect((await limited.admin.get('/v1/payment-requests')).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe('/pay/{code} for an on-chain option', () => {
  it('shows a QR code that decodes (jsQR, an independent decoder) to the option\'s EIP-681 URI', async () => {
    const chain = await startTestChain();
    const server = await startChainServer(chain);
    try {
      const payee = await createWalletPayee(server.admin, chain.address(7));
      const pr = await createRequest(server.admin, payee.accountId, { amount: '1.5', currency: 'TST-private' });
      const option = (pr.paymentOptions as { currency: string; uri: string | null; address: string | null }[]).find((o) => o.currency === 'TST-private');
      expect(option?.uri).toMatch(/^ethereum:/);
      const html = await (await fetch(`${server.url}/pay/${pr.code as string}`)).text();
      const src = /<img src="data:image\/png;base64,([^"]+)"/.exec(html)?.[1];
      expect(src).toBeTruthy();
      const png = PNG.sync.read(Buffer.from(src as string, 'base64'));
      // jsqr is CommonJS: its function is the module itself (its types describe an ES default export).
      const decode = jsqr as unknown as typeof jsqr.default;
      const decoded = decode(new Uint8ClampedArray(png.data), png.width, png.height);
      expect(decoded?.data).toBe(option?.uri);
      expect(html).toContain(option?.address as string);
      expect(html).toMatch(/alt="QR code: pay 1\.5 TST with a mobile wallet"/);
    } finally {
      await server.close();
      await chain.close();
    }
  });
});

describe('/pay/{code}/transactions', () => {
  it('answers the transactions a wallet signs for all that is owed, quantities in hex, and refuses what it cannot pay', async () => {
    const chain = await startTestChain();
    const server = await startChainServer(chain, {}, { payPageRateLimitPerMinute: 1000 });
    try {
      const payee = await createWalletPayee(server.admin, chain.address(7));
      const pr = await createRequest(server.admin, payee.accountId, { amount: '1.5', currency: 'TST-private' });
      const code = pr.code as string;
      const get = async (query: string) => {
        const res = await fetch(`${server.url}/pay/${code}/transactions${query}`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const ok = await get(`?wallet=${chain.address(3).toLowerCase()}&currency=TST-private`);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({ chainId: 31337, payment: { currency: 'TST-private', symbol: 'TST', network: 'private', amount: '1.5', confirmations: 3 }, metadata: { stepsRequired: 2, needsApproval: true, approvalTransactionIndex: 0, paymentTransactionIndex: 1 } });
      const txs = ok.body['transactions'] as { to: string; data: string; value: string }[];
      expect(txs.map((x) => [x.to, x.value])).toEqual([[chain.token, '0x0'], [chain.erc20FeeProxy, '0x0']]);
      // The same transactions as the /v1 pay call builds for that wallet.
      const v1 = await server.admin.get(`/v1/payment-requests/${pr.id as string}/pay?wallet=${chain.address(3)}`);
      expect(txs.map((x) => x.data)).toEqual((v1.body.transactions as { data: string }[]).map((x) => x.data));
      // The default option is the first on-chain one.
      expect((await get(`?wallet=${chain.address(3)}`)).body['transactions']).toEqual(txs);

      expect(await get('')).toEqual({ status: 400, body: { error: 'validation_failed', detail: 'give wallet (an address) and at most one currency' } });
      expect(await get(`?wallet=${chain.address(3)}&wallet=${chain.address(4)}`)).toMatchObject({ status: 400 });
      expect(await get('?wallet=0x123')).toMatchObject({ status: 422, body: { error: 'invalid_address' } });
      expect(await get(`?wallet=${chain.address(3)}&currency=NOPE`)).toMatchObject({ status: 422 });
      expect((await fetch(`${server.url}/pay/AAAA-BBBB-CCCC/transactions?wallet=${chain.address(3)}`)).status).toBe(404);
      // A fiat request has nothing to sign; a paid one takes no more.
      const fiatPayee = await createUserWithAccount(server.admin, 'USD');
      const fiat = await createRequest(server.admin, fiatPayee.accountId);
      expect((await fetch(`${server.url}/pay/${fiat.code as string}/transactions?wallet=${chain.address(3)}`)).status).toBe(409);
      expect((await fetch(`${server.url}/pay/${code}/simulate`, { method: 'POST' })).status).toBe(200);
      expect(await get(`?wallet=${chain.address(3)}`)).toMatchObject({ status: 409, body: { error: 'not_payable_on_chain' } });
    } finally {
      await server.close();
      await chain.close();
    }
  });
});
