/**
 * `npm run demo:chain`: the Request Network flow end to end on a real local chain. It starts
 * anvil (from npm), deploys Request Network's ERC20FeeProxy, EthereumFeeProxy and a test token
 * from their published bytecode, starts Payreq watching that chain, and then, as an app using
 * the Request Network API would (base URL `/compat/request-network`):
 * registers a webhook, creates a request for 25.50 USD payable in the token, asks for the
 * transactions, has a wallet sign and send them, waits for the confirmations, reads the status
 * and receives the signed `payment.confirmed` webhook. Prints each step; exits 0 when every
 * step answered as expected.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { generateSecret } from '../src/app/api-keys.js';
import { loadConfig } from '../src/config.js';
import { startTestChain } from './lib/chain.js';
import { freePort, spawnPayreq, waitForHealthy } from './lib/process.js';
import { waitUntil } from './lib/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'payreq-demo-chain-'));
const key = generateSecret('test');
let step = 0;
function say(title: string): void {
  step += 1;
  console.log(`\n${step}. ${title}`);
}
function show(label: string, value: unknown): void {
  console.log(`   ${label.padEnd(18)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
}

const webhooks: { body: string; headers: Record<string, unknown> }[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString()));
  req.on('end', () => {
    webhooks.push({ body, headers: { ...req.headers } });
    res.writeHead(200).end('ok');
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', () => resolve()));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/request-network`;

say('A local chain: anvil from npm, Request Network\'s contracts from @requestnetwork/smart-contracts');
const chain = await startTestChain();
show('rpc', chain.rpcUrl);
show('ERC20FeeProxy', chain.erc20FeeProxy);
show('EthereumFeeProxy', chain.ethFeeProxy);
show('token TST', chain.token);
const PAYEE = 1;
const PAYER = 2;
await chain.fund(PAYER, 1000n * 10n ** BigInt(chain.tokenDecimals));
show('payee wallet', chain.address(PAYEE));
show('payer wallet', `${chain.address(PAYER)} (holds 1000 TST)`);

const tokenList = join(dir, 'tokens.json');
writeFileSync(tokenList, JSON.stringify([...loadConfig({}).tokens, ...chain.tokens]));
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawnPayreq(['serve'], {
  PAYREQ_PORT: String(port),
  PAYREQ_DATABASE_URL: `sqlite:${join(dir, 'demo.db')}`,
  PAYREQ_BOOTSTRAP_API_KEY: key,
  PAYREQ_TOKEN_LIST: tokenList,
  PAYREQ_FX_RATES: JSON.stringify({ 'USD/TST-private': '1' }),
  PAYREQ_CHAINS: JSON.stringify([{ network: 'private', chainId: 31337, rpcUrl: chain.rpcUrl, confirmations: 2, erc20FeeProxy: chain.erc20FeeProxy, ethFeeProxy: chain.ethFeeProxy, startBlock: 0, pollIntervalMs: 200 }]),
});
const rn = `${base}/compat/request-network`;
async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${rn}${path}`, { method, headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const json = (await res.json()) as Record<string, unknown>;
  console.log(`   ${method} /compat/request-network${path} → ${res.status}`);
  return { status: res.status, json };
}
function expectStatus(got: number, want: number, json: unknown): void {
  if (got !== want) throw new Error(`step ${step} answered ${got}, expected ${want}: ${JSON.stringify(json)}`);
}

try {
  await waitForHealthy(base, server);
  say(`Payreq watches the chain (confirmations: 2); the app's base URL is ${rn}`);

  say('The app registers a webhook');
  const hook = await call('POST', '/v1/webhook', { url: hookUrl });
  expectStatus(hook.status, 201, hook.json);
  show('id', hook.json['id']);
  show('secret', `${String(hook.json['secret']).slice(0, 8)}… (64 hex, shown once)`);

  say('The payee asks for 25.50 USD, payable in TST, at its own wallet address');
  const created = await call('POST', '/v1/request', { payee: chain.address(PAYEE), amount: '25.50', invoiceCurrency: 'USD', paymentCurrency: 'TST-private' });
  expectStatus(created.status, 201, created.json);
  const ref = String(created.json['paymentReference']);
  show('requestID', created.json['requestID']);
  show('paymentReference', ref);

  say('The app asks for the transactions to sign (Payreq starts listening)');
  const pay = await call('GET', `/v1/request/${ref}/pay?wallet=${chain.address(PAYER)}`);
  expectStatus(pay.status, 200, pay.json);
  const transactions = pay.json['transactions'] as { to: Hex; data: Hex; value: number | { hex: string } }[];
  const metadata = pay.json['metadata'] as { paymentTransactionIndex: number; needsApproval: boolean };
  show('metadata', metadata);

  say('The payer\'s wallet signs and sends them: approvals first, then the payment');
  let paymentHash: Hex = '0x';
  for (const [i, tx] of transactions.entries()) {
    const value = typeof tx.value === 'number' ? BigInt(tx.value) : BigInt(tx.value.hex);
    const hash = await chain.send(PAYER, { to: tx.to, data: tx.data, value });
    show(i === metadata.paymentTransactionIndex ? 'payment tx' : 'approval tx', hash);
    if (i === metadata.paymentTransactionIndex) paymentHash = hash;
  }
  const status = await call('GET', `/v1/request/${ref}`);
  show('status', status.json);

  say('One more block: the payment is 2 confirmations deep, and Payreq records it');
  await chain.mine(1);
  await waitUntil(async () => (await (await fetch(`${rn}/v1/request/${ref}`, { headers: { 'x-api-key': key } })).json() as { hasBeenPaid: boolean }).hasBeenPaid, 20_000, 'the payment to be detected');
  const paid = await call('GET', `/v1/request/${ref}`);
  show('status', paid.json);
  if (paid.json['txHash'] !== paymentHash) throw new Error('the status names another transaction');

  say('The webhook arrives, signed with the secret');
  await waitUntil(() => webhooks.length > 0, 20_000, 'the webhook');
  const hookCall = webhooks[0]!;
  const signature = createHmac('sha256', String(hook.json['secret'])).update(hookCall.body).digest('hex');
  if (hookCall.headers['x-request-network-signature'] !== signature) throw new Error('the webhook signature does not verify');
  show('signature', 'verified (hex HMAC-SHA256 of the body)');
  const event = JSON.parse(hookCall.body) as Record<string, unknown>;
  for (const k of ['event', 'requestId', 'paymentReference', 'amount', 'totalAmountPaid', 'expectedAmount', 'txHash', 'payerAddress']) show(k, event[k]);

  console.log('\nDemo finished: a wallet that knows nothing of Payreq paid on chain, and the app was told.');
} finally {
  server.child.kill('SIGTERM');
  await server.exited;
  await chain.close();
  receiver.close();
  rmSync(dir, { recursive: true, force: true });
}
