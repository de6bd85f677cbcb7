/**
 * A real headless browser for tests: Debian's Chromium (`PAYREQ_CHROMIUM`, default
 * `/usr/bin/chromium`) driven by playwright-core, never a browser download. Without the binary
 * the browser tests are left out with a warning, except under `CI=true`, where they fail.
 *
 * Also here: an EIP-1193 provider injected into the page that forwards to a local anvil with one
 * of its unlocked accounts (what a browser wallet does, without the prompts), axe-core run in
 * the page, and screenshots under `test-output/screenshots/`.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** The Chromium binary the tests launch. */
export const CHROMIUM = process.env['PAYREQ_CHROMIUM'] ?? '/usr/bin/chromium';

/** True when the tests can run a browser; under `CI=true` they run either way (and fail without one). */
export const browserAvailable = existsSync(CHROMIUM) || process.env['CI'] === 'true';
if (!browserAvailable) process.stderr.write(`\n${CHROMIUM} is missing: the browser tests are left out (apt-get install -y chromium; under CI=true they fail instead).\n\n`);

/** Launches headless Chromium with the flags a sandboxed CI machine needs. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
}

/**
 * Evaluates a JavaScript expression in the page and answers its value (a promise is awaited).
 * A string rather than a callback: the test project's types are Node's, not the DOM's.
 */
export function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate<T>(expression);
}

const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');

/** Saves a full-page screenshot as `test-output/screenshots/<engine>-<name>.png`; returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${process.env['PAYREQ_TEST_ENGINE'] ?? 'any'}-${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** One axe-core violation, as `axe.run` reports it. */
export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * Runs axe-core (WCAG 2.0/2.1 A and AA rules) in the page and returns the violations of impact
 * `serious` or `critical`. The engine is evaluated through the DevTools protocol, which the page's
 * CSP does not govern, so the page is tested with its real policy.
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Gives every page of `context` a `window.ethereum` (EIP-1193) that acts as a wallet holding
 * anvil's unlocked account `account` on chain `walletChainId`: `eth_requestAccounts` and
 * `eth_accounts` answer that account, `eth_chainId` the wallet's current chain,
 * `wallet_switchEthereumChain` switches to the anvil chain (4902 for any other), and every other
 * call goes to anvil's JSON-RPC at `rpcUrl` (so `eth_sendTransaction` is signed by anvil), except
 * the methods in `decline`, which the user "rejects" (EIP-1193 error 4001).
 * Returns the JSON-RPC calls made, in order, for the test to assert on.
 */
export async function injectWallet(context: BrowserContext, opts: { rpcUrl: string; account: string; chainId: number; walletChainId?: number; decline?: string[] }): Promise<{ method: string; params: unknown }[]> {
  const calls: { method: string; params: unknown }[] = [];
  let current = opts.walletChainId ?? opts.chainId;
  await context.exposeFunction('__walletRequest', async (method: string, params: unknown) => {
    calls.push({ method, params });
    if (opts.decline?.includes(method)) return { error: { code: 4001, message: 'User rejected the request.' } };
    if (method === 'eth_requestAccounts' || method === 'eth_accounts') return { result: [opts.account] };
    if (method === 'eth_chainId') return { result: `0x${current.toString(16)}` };
    if (method === 'wallet_switchEthereumChain') {
      const wanted = parseInt((params as { chainId: string }[])[0]?.chainId ?? '', 16);
      if (wanted !== opts.chainId) return { error: { code: 4902, message: `Unrecognized chain ID ${wanted}` } };
      current = wanted;
      return { result: null };
    }
    const res = await fetch(opts.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: calls.length, method, params }) });
    const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string } };
    return body.error ? { error: body.error } : { result: body.result };
  });
  await context.addInitScript(() => {
    const call = (globalThis as unknown as { __walletRequest: (method: string, params: unknown) => Promise<{ result?: unknown; error?: { code: number; message: string } }> }).__walletRequest;
    (globalThis as unknown as { ethereum: unknown }).ethereum = {
      isPayreqTestWallet: true,
      async request({ method, params }: { method: string; params?: unknown }) {
        const answer = await call(method, params ?? []);
        if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
        return answer.result;
      },
    };
  });
  return calls;
}
