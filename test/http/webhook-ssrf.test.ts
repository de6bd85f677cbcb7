/**
 * The SSRF guard: in live mode an endpoint must be https and must not be, nor resolve to, a
 * private, loopback, link-local or metadata address, when it is saved and again at delivery
 * (DNS rebinding). Host names resolve through a test resolver: the machine has no public DNS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrap, generateSecret } from '../../src/app/api-keys.js';
import { isBlockedAddress } from '../../src/webhooks/url-guard.js';
import type { Client } from '../support/client.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

const dns = new Map<string, string>([
  ['hooks.example.com', '93.184.216.34'],
  ['internal.example.com', '10.1.2.3'],
  ['rebind.example.com', '93.184.216.35'],
]);

let t: TestServer;
let live: Client;
beforeAll(async () => {
  t = await startTestServer({}, {
    resolver: (hostname) => {
      const address = dns.get(hostname);
      return address ? Promise.resolve([{ address, family: 4 }]) : Promise.reject(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    },
  });
  const liveSecret = generateSecret('live');
  await bootstrap(t.server.deps, liveSecret);
  live = t.client(liveSecret);
});
afterAll(() => t.close());

describe('live-mode endpoint URLs', () => {
  it.each([
    ['an IP literal on loopback', 'https://127.0.0.1/hooks', /private or reserved address 127.0.0.1/],
    ['a host name that resolves to 10.x', 'https://internal.example.com/hooks', /resolves to the private or reserved address 10.1.2.3/],
    ['the cloud metadata address', 'https://169.254.169.254/latest', /169.254.169.254/],
    ['localhost', 'https://localhost/hooks', /must not point at localhost/],
    ['an IPv6 loopback', 'https://[::1]/hooks', /::1/],
    ['plain http', 'http://hooks.example.com/hooks', /must be https in live mode/],
    ['a host that does not resolve', 'https://nowhere.example.com/hooks', /does not resolve/],
  ])('refuses %s', async (_name, url, message) => {
    const res = await live.post('/v1/webhook-endpoints', { url });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'url', message: expect.stringMatching(message) }] });
  });

  it('accepts a public https host', async () => {
    const res = await live.post('/v1/webhook-endpoints', { url: 'https://hooks.example.com/payreq' });
    expect(res.status).toBe(201);
    await live.request('DELETE', `/v1/webhook-endpoints/${res.body.id}`);
  });

  it('refuses at delivery a host that re-resolves to a private address, and never connects', async () => {
    const res = await live.post('/v1/webhook-endpoints', { url: 'https://rebind.example.com/hooks' });
    expect(res.status).toBe(201);
    dns.set('rebind.example.com', '10.0.0.7');
    const party = await live.post('/v1/parties', { type: 'user', username: 'live-payee' });
    const account = await live.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
    const pr = await live.post('/v1/payment-requests', { amount: '1', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 600 });
    expect(pr.status).toBe(201);
    let attempts: { statusCode: number | null; error: string | null }[] = [];
    await waitUntil(async () => {
      attempts = (await live.get(`/v1/webhook-endpoints/${res.body.id}/deliveries`)).body.data[0]?.attempts ?? [];
      return attempts.length > 0;
    }, 5000, 'a delivery attempt');
    expect(attempts[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/refused.*10\.0\.0\.7/) });
  });

  it('lets test mode use a local receiver', async () => {
    const res = await t.admin.post('/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/hooks' });
    expect(res.status).toBe(201);
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${res.body.id}`);
  });
});

describe('isBlockedAddress', () => {
  it.each(['10.0.0.1', '172.16.5.4', '192.168.1.1', '127.0.0.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', 'fd00:ec2::254', 'fe80::1', '::ffff:10.0.0.1', 'not-an-ip'])('blocks %s', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
  });
  it.each(['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111', '::ffff:93.184.216.34'])('allows %s', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
  });
});
