/**
 * The hosted pay page in a real headless Chromium (Debian's, driven by playwright-core) against
 * a real server on a real port: simulate a test-mode payment and land on the success URL; pay an
 * on-chain request on anvil with "Pay with wallet" through an injected EIP-1193 provider and see
 * the page turn to paid once the chain watcher confirms; an expired request and an unknown code;
 * a 360 px wide phone; keyboard use; axe-core in the page. Each test saves a screenshot under
 * `test-output/screenshots/`.
 */
import { decodeFunctionData, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { browserAvailable, inPage, injectWallet, launchBrowser, screenshot, seriousViolations } from '../support/browser.js';
import { factory, startTestChain, type TestChain } from '../support/chain.js';
import { createWalletPayee, startChainServer, units } from '../support/evm.js';
import { Client } from '../support/client.js';
import { createRequest, createUserWithAccount } from '../support/factories.js';
import type { TestServer } from '../support/server.js';

const SHOP = 'https://shop.example';

describe.runIf(browserAvailable)('the pay page in a browser', () => {
  let browser: Browser;
  let chain: TestChain;
  let t: TestServer;

  beforeAll(async () => {
    [browser, chain] = await Promise.all([launchBrowser(), startTestChain()]);
    t = await startChainServer(chain, {}, { payPageRateLimitPerMinute: 10_000 });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([browser?.close(), chain?.close()]);
  });

  /** A fresh context (no shared storage) whose requests to the shop are answered by the test, since nothing outside the machine is reachable. */
  async function open(options: { width?: number; height?: number; locale?: string } = {}): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width: options.width ?? 1024, height: options.height ?? 800 }, locale: options.locale ?? 'en-US' });
    await context.route(`${SHOP}/**`, (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Thanks</title><h1>Thank you for your order</h1>' }));
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
    });
    (page as Page & { errors: string[] }).errors = errors;
    return { context, page };
  }
  const errorsOf = (page: Page) => (page as Page & { errors: string[] }).errors;

  async function tokenRequest(payee: number, amount = '1.5') {
    const wallet = await createWalletPayee(t.admin, chain.address(payee));
    return createRequest(t.admin, wallet.accountId, { amount, currency: 'TST-private', description: 'Concert ticket' });
  }

  it('simulates a test-mode payment: the page shows paid without a reload, then lands on the success URL', async () => {
    const payee = await createUserWithAccount(t.admin, 'USD', undefined, { username: 'browser-shop' });
    const pr = await createRequest(t.admin, payee.accountId, { amount: '25.50', description: 'Birthday present', redirectUrls: { store: `${SHOP}/cart`, success: `${SHOP}/thanks` } });
    const { context, page } = await open();
    try {
      await page.goto(pr.paymentLink as string);
      await expect.poll(() => page.getByTestId('amount').textContent()).toBe('$25.50');
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('browser-shop asks you to pay');
      expect(await page.getByTestId('status').textContent()).toBe('Waiting for payment');
      // Marks this document: a reload would lose the mark.
      await page.evaluate(() => ((globalThis as unknown as { mark: number }).mark = 42));
      await page.getByRole('button', { name: 'Simulate payment (test mode)' }).click();
      await page.getByTestId('status').filter({ hasText: 'Paid' }).waitFor({ timeout: 10_000 });
      expect(await page.evaluate(() => (globalThis as unknown as { mark?: number }).mark)).toBe(42);
      expect(await page.locator('#paid').textContent()).toBe('$25.50');
      expect(await page.getByRole('button', { name: /Simulate/ }).count()).toBe(0);
      await screenshot(page, 'simulated-paid');
      await page.waitForURL(`${SHOP}/thanks`, { timeout: 10_000 });
      expect(await page.getByRole('heading').textContent()).toBe('Thank you for your order');
      expect(errorsOf(page)).toEqual([]);
      expect((await t.admin.get(`/v1/payment-requests/${pr.id as string}`)).body).toMatchObject({ status: 'paid', amountPaid: '25.50' });
    } finally {
      await context.close();
    }
  });

  it('pays an on-chain request with "Pay with wallet": switches the chain, approves, pays, and turns to paid once confirmed', async () => {
    const payer = 3;
    await chain.fund(payer, units('10', chain.tokenDecimals));
    const pr = await tokenRequest(8);
    const option = (pr.paymentOptions as { currency: string; paymentReference: string; address: Hex }[]).find((o) => o.currency === 'TST-private');
    const { context, page } = await open();
    try {
      // The wallet starts on mainnet: the page must ask it to switch to the request's chain.
      const calls = await injectWallet(context, { rpcUrl: chain.rpcUrl, account: chain.address(payer), chainId: chain.chainConfig().chainId, walletChainId: 1 });
      await page.goto(pr.paymentLink as string);
      await page.getByRole('button', { name: 'Pay 1.5 TST with wallet' }).click();
      await page.locator('#wallet-steps li', { hasText: 'Payment sent' }).waitFor({ timeout: 20_000 });
      const steps = await page.locator('#wallet-steps li').allTextContents();
      expect(steps).toEqual([
        'Connecting to your wallet…',
        'Switching your wallet to the private network…',
        'Preparing the payment…',
        'Step 1 of 2: allow the payment proxy to move TST. Confirm it in your wallet.',
        expect.stringMatching(/^Step 1 of 2: waiting for transaction 0x[0-9a-f]{8}… to be mined\.$/),
        'Step 2 of 2: send 1.5 TST. Confirm it in your wallet.',
        expect.stringMatching(/^Step 2 of 2: waiting for transaction 0x[0-9a-f]{8}… to be mined\.$/),
        'Payment sent. Waiting for 3 confirmations on chain…',
      ]);
      expect(calls.map((c) => c.method).filter((m) => m !== 'eth_getTransactionReceipt')).toEqual(['eth_requestAccounts', 'eth_chainId', 'wallet_switchEthereumChain', 'eth_sendTransaction', 'eth_sendTransaction']);
      // The calldata, decoded with Request Network's own ABIs (viem, not Payreq's encoder).
      const sent = calls.filter((c) => c.method === 'eth_sendTransaction').map((c) => (c.params as { from: Hex; to: Hex; data: Hex }[])[0]);
      const erc20 = factory('TestERC20.sol/TestERC20__factory.js', 'TestERC20');
      const proxy = factory('ERC20FeeProxy__factory.js', 'ERC20FeeProxy');
      expect(sent[0]).toMatchObject({ from: chain.address(payer), to: chain.token });
      expect(decodeFunctionData({ abi: erc20.abi, data: sent[0]?.data as Hex })).toMatchObject({ functionName: 'approve', args: [chain.erc20FeeProxy, 2n ** 256n - 1n] });
      expect(sent[1]).toMatchObject({ from: chain.address(payer), to: chain.erc20FeeProxy });
      expect(decodeFunctionData({ abi: proxy.abi, data: sent[1]?.data as Hex })).toMatchObject({
        functionName: 'transferFromWithReferenceAndFee',
        args: [chain.token, option?.address, units('1.5', chain.tokenDecimals), option?.paymentReference, 0n, '0x0000000000000000000000000000000000000000'],
      });
      // Mined but not yet confirmed: still waiting.
      expect(await page.getByTestId('status').textContent()).toBe('Waiting for payment');
      await chain.mine(3);
      await page.getByTestId('status').filter({ hasText: 'Paid' }).waitFor({ timeout: 15_000 });
      expect(await page.getByRole('button', { name: /with wallet/ }).count()).toBe(0);
      expect(await page.locator('#wallet-steps li').last().textContent()).toBe('Confirmed on chain: paid.');
      expect(await page.locator('#expiry').isHidden()).toBe(true);
      await screenshot(page, 'wallet-paid');
      expect(errorsOf(page)).toEqual([]);
      const paid = (await t.admin.get(`/v1/payment-requests/${pr.id as string}`)).body;
      expect(paid).toMatchObject({ status: 'paid', amountPaid: '1.5' });
    } finally {
      await context.close();
    }
  });

  it('says so, and leaves the button usable, when the wallet declines or there is no wallet', async () => {
    const pr = await tokenRequest(9, '2');
    const { context, page } = await open();
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write']);
      await page.goto(pr.paymentLink as string);
      // For a mobile wallet: the address and the amount to copy.
      await page.getByRole('button', { name: 'Copy address' }).click();
      expect(await inPage(page, 'navigator.clipboard.readText()')).toBe(chain.address(9));
      await page.getByRole('button', { name: 'Copy amount' }).click();
      expect(await inPage(page, 'navigator.clipboard.readText()')).toBe('2');
      // No window.ethereum in this context.
      await page.getByRole('button', { name: 'Pay 2 TST with wallet' }).click();
      await page.locator('#wallet-steps li', { hasText: 'No browser wallet was found' }).waitFor();
      // A wallet that is on a chain it cannot switch from is asked to add the network.
      await injectWallet(context, { rpcUrl: 'http://127.0.0.1:9', account: chain.address(4), chainId: 5, walletChainId: 1 });
      await page.reload();
      await page.getByRole('button', { name: 'Pay 2 TST with wallet' }).click();
      await page.locator('#wallet-steps li[data-state=error]', { hasText: 'does not know the private network (chain id 31337): add it, then try again' }).waitFor();
      expect(await page.getByRole('button', { name: 'Pay 2 TST with wallet' }).isEnabled()).toBe(true);
      await screenshot(page, 'wallet-unknown-chain');
    } finally {
      await context.close();
    }
    // A wallet on the right chain whose user declines the transaction.
    const declining = await open();
    try {
      await chain.fund(4, units('5', chain.tokenDecimals));
      const calls = await injectWallet(declining.context, { rpcUrl: chain.rpcUrl, account: chain.address(4), chainId: chain.chainConfig().chainId, decline: ['eth_sendTransaction'] });
      await declining.page.goto(pr.paymentLink as string);
      await declining.page.getByRole('button', { name: 'Pay 2 TST with wallet' }).click();
      await declining.page.locator('#wallet-steps li[data-state=error]', { hasText: 'The wallet payment did not go through: you declined it in your wallet.' }).waitFor();
      expect(calls.map((c) => c.method)).toEqual(['eth_requestAccounts', 'eth_chainId', 'eth_sendTransaction']);
      expect(await declining.page.getByRole('button', { name: 'Pay 2 TST with wallet' }).isEnabled()).toBe(true);
      await screenshot(declining.page, 'wallet-declined');
    } finally {
      await declining.context.close();
    }
    expect((await t.admin.get(`/v1/payment-requests/${pr.id as string}`)).body).toMatchObject({ status: 'pending', amountPaid: '0' });
  });

  it('turns an open page to expired when the request expires, and shows a plain 404 page for an unknown code', async () => {
    const payee = await createUserWithAccount(t.admin, 'EUR');
    const pr = await createRequest(t.admin, payee.accountId, { amount: '9.99', currency: 'EUR', expiresIn: 60 });
    const { context, page } = await open({ locale: 'de-DE' });
    try {
      await page.goto(pr.paymentLink as string);
      expect(await page.getByTestId('amount').textContent()).toBe('9,99\u00a0€');
      expect(await page.locator('#countdown').textContent()).toMatch(/^[01]:\d\d$/);
      t.clock.advance(61_000);
      await page.getByTestId('status').filter({ hasText: 'Expired' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('#countdown').textContent()).toBe('0:00');
      expect(await page.getByRole('button', { name: /Simulate/ }).count()).toBe(0);
      await screenshot(page, 'expired');
      const res = await page.goto(`${t.url}/pay/ZZZZ-ZZZZ-ZZZZ`);
      expect(res?.status()).toBe(404);
      expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('No such payment request');
      await screenshot(page, 'unknown-code');
    } finally {
      await context.close();
    }
  });

  it('turns to partially paid, then failed, as it happens', async () => {
    const payee = await createUserWithAccount(t.admin, 'USD');
    const payer = await createUserWithAccount(t.admin, 'USD', '1.00');
    const pr = await createRequest(t.admin, payee.accountId, { amount: '25.50', payer: { partyId: payer.partyId } });
    const { context, page } = await open();
    try {
      await page.goto(pr.paymentLink as string);
      const recorded = await t.admin.post(`/v1/payment-requests/${pr.id as string}/payments`, { amount: '10.00', reference: 'till-1' });
      expect(recorded.status, JSON.stringify(recorded.body)).toBe(201);
      await page.getByTestId('status').filter({ hasText: 'Partially paid' }).waitFor({ timeout: 10_000 });
      expect(await page.locator('#paid').textContent()).toBe('$10.00');
      await screenshot(page, 'partially-paid');
      // On /v1 a payer short of funds is refused and the request stays payable (docs/api.md) ...
      const refused = await t.admin.post(`/v1/payment-requests/${pr.id as string}/approve`, { accountId: payer.accountId });
      expect(refused.status, JSON.stringify(refused.body)).toBe(409);
      expect(refused.body.code).toBe('insufficient_funds');
      expect((await t.admin.get(`/v1/payment-requests/${pr.id as string}`)).body.status).toBe('pending');
      // ... while DeltaPay's approval by the named payer without funds fails the request, as DeltaPay documents.
      const account = (await t.admin.get(`/v1/accounts/${payer.accountId}`)).body;
      const deltapay = new Client(`${t.url}/compat/deltapay`, t.adminKey);
      const approved = await deltapay.post('/payment-request/approve', { payment_request_id: pr.number as number, account_id: account.number as number });
      expect(approved.body.payment_request_status, JSON.stringify(approved.body)).toBe('failed');
      await page.getByTestId('status').filter({ hasText: 'Failed' }).waitFor({ timeout: 10_000 });
      expect(await page.getByRole('button', { name: /Simulate/ }).count()).toBe(0);
      await screenshot(page, 'failed');
    } finally {
      await context.close();
    }
  });

  it('is readable at 360 px wide and can be paid with the keyboard alone', async () => {
    const payee = await createUserWithAccount(t.admin, 'USD', undefined, { username: 'narrow-shop' });
    const pr = await createRequest(t.admin, payee.accountId, { amount: '1234567.89', description: 'A long description that has to wrap on a narrow phone screen without scrolling sideways', lineItems: [{ name: 'Deluxe widget with a rather long product name', sku: 'W1', qty: '1', price: '1234567.89' }] });
    const token = await tokenRequest(6, '123456.123456789012345678');
    const { context, page } = await open({ width: 360, height: 740 });
    try {
      for (const [name, link] of [['narrow-360-token', token.paymentLink], ['narrow-360-fiat', pr.paymentLink]] as const) {
        await page.goto(link as string);
        // Nothing wider than the screen: no sideways scrolling, every control inside the viewport.
        expect(await inPage<number>(page, 'document.documentElement.scrollWidth')).toBeLessThanOrEqual(360);
        for (const box of await page.locator('button, a, img, code, table').evaluateAll((els) => els.map((el) => el.getBoundingClientRect().right))) expect(box).toBeLessThanOrEqual(360);
        // Text stays at a readable size.
        expect(await inPage<number>(page, 'parseFloat(getComputedStyle(document.body).fontSize)')).toBeGreaterThanOrEqual(16);
        await screenshot(page, name);
      }
      await page.goto(pr.paymentLink as string);
      // Tab to the simulate button and press Enter: no mouse.
      let focused = '';
      for (let i = 0; i < 10 && focused !== 'simulate'; i++) {
        await page.keyboard.press('Tab');
        focused = await inPage<string>(page, "document.activeElement ? document.activeElement.id : ''");
      }
      expect(focused).toBe('simulate');
      await page.keyboard.press('Enter');
      await page.getByTestId('status').filter({ hasText: 'Paid' }).waitFor({ timeout: 10_000 });
    } finally {
      await context.close();
    }
  });

  it('has no serious or critical axe-core violations, pending or paid, fiat or on chain', async () => {
    const payee = await createUserWithAccount(t.admin, 'USD', undefined, { username: 'axe-shop' });
    const pr = await createRequest(t.admin, payee.accountId, { amount: '12.00', lineItems: [{ name: 'Tea', sku: 'T', qty: '2', price: '12.00' }], redirectUrls: { store: `${SHOP}/cart` } });
    const token = await tokenRequest(5);
    const { context, page } = await open();
    try {
      for (const [name, link] of [['axe-pending', pr.paymentLink], ['axe-token', token.paymentLink]] as const) {
        await page.goto(link as string);
        expect(await seriousViolations(page), name).toEqual([]);
        await screenshot(page, name);
      }
      await page.goto(pr.paymentLink as string);
      await page.getByRole('button', { name: 'Simulate payment (test mode)' }).click();
      await page.getByTestId('status').filter({ hasText: 'Paid' }).waitFor({ timeout: 10_000 });
      expect(await seriousViolations(page), 'paid').toEqual([]);
      await screenshot(page, 'axe-paid');
      await page.goto(`${t.url}/pay/ZZZZ-ZZZZ-ZZZY`);
      expect(await seriousViolations(page), 'not found').toEqual([]);
      // The check can fail: a page with an unlabelled image and a nameless button has violations.
      await page.setContent('<!doctype html><html lang="en"><title>x</title><main><img src="data:,"><button></button></main></html>');
      expect((await seriousViolations(page)).map((v) => v.id).sort()).toEqual(['button-name', 'image-alt']);
    } finally {
      await context.close();
    }
  });
});
