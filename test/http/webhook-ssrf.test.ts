/**
 * The SSRF guard (docs/webhooks.md, "Where webhooks may go"): an endpoint must be https and must
 * be, and resolve only to, global unicast addresses, when it is saved and again at delivery (DNS
 * rebinding), IPv6 forms that carry an IPv4 address included; live mode also allows only its
 * ports (443 and 8443 by default). Test mode follows the same rules unless the server opts in to
 * local receivers, which then allows http and loopback only, never a private or link-local
 * address, and whose delivery log never shows what a loopback destination answered. Host names
 * resolve through a test resolver: the machine has no public DNS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../scripts/lib/process.js';
import { bootstrap, generateSecret } from '../../src/app/api-keys.js';
import { loadConfig } from '../../src/config.js';
import { postWebhook, RESPONSE_BODY_LIMIT, WITHHELD_ERROR } from '../../src/webhooks/http-delivery.js';
import { type AddressClass, classifyAddress, guardedLookup, policyFor, type Resolver, systemResolver } from '../../src/webhooks/url-guard.js';
import type { Client } from '../support/client.js';
import { testDatabase } from '../support/database.js';
import { createRequest, createUserWithAccount } from '../support/factories.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { FAST_WEBHOOKS, startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';

const dns = new Map<string, string>([
  ['hooks.example.com', '93.184.216.34'],
  ['internal.example.com', '10.1.2.3'],
  ['rebind.example.com', '93.184.216.35'],
  ['nat64-metadata.example.com', '64:ff9b::a9fe:a9fe'],
  ['mapped.example.com', '::ffff:192.168.0.10'],
  ['localhost', '127.0.0.1'],
  ['lan-rebind.example.com', '127.0.0.1'],
]);
const resolver: Resolver = (hostname) => {
  const address = dns.get(hostname);
  return address ? Promise.resolve([{ address, family: address.includes(':') ? 6 : 4 }]) : Promise.reject(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
};

interface Attempt { statusCode: number | null; error: string | null; responseBody: string | null; durationMs: number }

async function attemptsOf(api: Client, endpointId: string, count = 1): Promise<Attempt[]> {
  let attempts: Attempt[] = [];
  await waitUntil(async () => {
    attempts = (await api.get(`/v1/webhook-endpoints/${endpointId}/deliveries`)).body.data[0]?.attempts ?? [];
    return attempts.length >= count;
  }, 10_000, 'delivery attempts');
  return attempts;
}

let t: TestServer;
let live: Client;
beforeAll(async () => {
  t = await startTestServer({}, { resolver });
  const liveSecret = generateSecret('live');
  await bootstrap(t.server.deps, liveSecret);
  live = t.client(liveSecret);
});
afterAll(() => t.close());

describe('live-mode endpoint URLs', () => {
  it.each([
    ['an IP literal on loopback', 'https://127.0.0.1/hooks', /private or reserved address 127.0.0.1/],
    ['a host name that resolves to 10.x', 'https://internal.example.com/hooks', /resolves to the private or reserved address 10.1.2.3/],
    ['a host name that resolves to the metadata address through NAT64', 'https://nat64-metadata.example.com/hooks', /resolves to the private or reserved address 64:ff9b::a9fe:a9fe/],
    ['a host name that resolves to an IPv4-mapped private address', 'https://mapped.example.com/hooks', /resolves to the private or reserved address ::ffff:192.168.0.10/],
    ['the cloud metadata address', 'https://169.254.169.254/latest', /169.254.169.254/],
    ['a cloud metadata name', 'https://metadata.google.internal/latest', /must not point at metadata.google.internal/],
    ['localhost', 'https://localhost/hooks', /must not point at localhost/],
    ['an IPv6 loopback', 'https://[::1]/hooks', /::1/],
    ['IPv4-compatible loopback', 'https://[::7f00:1]/hooks', /::7f00:1/],
    ['IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/hooks', /::ffff:7f00:1/],
    ['SIIT (RFC 6145) loopback', 'https://[::ffff:0:7f00:1]/hooks', /::ffff:0:7f00:1/],
    ['NAT64 loopback', 'https://[64:ff9b::7f00:1]/hooks', /64:ff9b::7f00:1/],
    ['local-use NAT64 loopback', 'https://[64:ff9b:1::7f00:1]/hooks', /64:ff9b:1::7f00:1/],
    ['6to4 of loopback', 'https://[2002:7f00:1::1]/hooks', /2002:7f00:1::1/],
    ['Teredo', 'https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hooks', /2001:0:4136:e378:8000:63bf:3fff:fdd2/],
    ['site-local', 'https://[fec0::1]/hooks', /fec0::1/],
    ['unique local', 'https://[fd00:ec2::254]/hooks', /fd00:ec2::254/],
    ['IPv6 link-local', 'https://[fe80::1]/hooks', /fe80::1/],
    ['IPv6 documentation', 'https://[2001:db8::1]/hooks', /2001:db8::1/],
    ['plain http', 'http://hooks.example.com/hooks', /must be https in live mode/],
    ['a port other than 443 and 8443', 'https://hooks.example.com:8080/hooks', /must use port 443 or 8443 in live mode, not 8080/],
    ['an https URL on port 80', 'https://hooks.example.com:80/hooks', /not 80/],
    ['a host that does not resolve', 'https://nowhere.example.com/hooks', /does not resolve/],
  ])('refuses %s', async (_name, url, message) => {
    const res = await live.post('/v1/webhook-endpoints', { url });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'validation_failed', errors: [{ path: 'url', message: expect.stringMatching(message) }] });
  });

  it.each(['https://hooks.example.com/payreq', 'https://hooks.example.com:443/payreq', 'https://hooks.example.com:8443/payreq', 'https://[2606:4700:4700::1111]/payreq'])('accepts %s', async (url) => {
    const res = await live.post('/v1/webhook-endpoints', { url });
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
    const [attempt] = await attemptsOf(live, res.body.id);
    expect(attempt).toMatchObject({ statusCode: null, responseBody: null, error: expect.stringMatching(/refused.*10\.0\.0\.7/) });
    await live.request('DELETE', `/v1/webhook-endpoints/${res.body.id}`);
  });
});

describe('PAYREQ_WEBHOOK_ALLOWED_PORTS', () => {
  it('defaults to 443 and 8443, takes a comma-separated list, and refuses what is not a port', () => {
    expect(loadConfig({}).webhooks.allowedPorts).toEqual([443, 8443]);
    expect(loadConfig({ PAYREQ_WEBHOOK_ALLOWED_PORTS: '443, 9443' }).webhooks.allowedPorts).toEqual([443, 9443]);
    for (const bad of ['', 'https', '443,', '0', '70000', '-1']) expect(() => loadConfig({ PAYREQ_WEBHOOK_ALLOWED_PORTS: bad }), bad).toThrow(/PAYREQ_WEBHOOK_ALLOWED_PORTS/);
  });

  it('lets live mode use exactly the configured ports', async () => {
    const s = await startTestServer({ webhooks: { ...FAST_WEBHOOKS, allowedPorts: [9443] } }, { resolver });
    try {
      const secret = generateSecret('live');
      await bootstrap(s.server.deps, secret);
      const api = s.client(secret);
      expect((await api.post('/v1/webhook-endpoints', { url: 'https://hooks.example.com:9443/payreq' })).status).toBe(201);
      const refused = await api.post('/v1/webhook-endpoints', { url: 'https://hooks.example.com/payreq' });
      expect(refused.status).toBe(422);
      expect(refused.body.errors[0].message).toMatch(/must use port 9443 in live mode, not 443/);
    } finally {
      await s.close();
    }
  });
});

describe('test mode with the local opt-in (PAYREQ_WEBHOOK_ALLOW_LOCAL_IN_TEST=true)', () => {
  it.each(['http://127.0.0.1:9/hooks', 'http://127.1.2.3:9/hooks', 'http://[::1]:9/hooks', 'http://localhost:9/hooks', 'http://hooks.example.com:3000/hooks'])('accepts %s', async (url) => {
    const res = await t.admin.post('/v1/webhook-endpoints', { url });
    expect(res.status).toBe(201);
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${res.body.id}`);
  });

  it.each([
    ['10.0.0.1', 'http://10.0.0.1/hooks'],
    ['192.168.1.1', 'http://192.168.1.1:8080/hooks'],
    ['172.16.0.1', 'http://172.16.0.1/hooks'],
    ['169.254.169.254', 'http://169.254.169.254/latest/meta-data'],
    ['100.64.0.1', 'http://100.64.0.1/hooks'],
    ['0.0.0.0', 'http://0.0.0.0:9/hooks'],
    ['fe80::1', 'http://[fe80::1]/hooks'],
    ['fc00::1', 'http://[fc00::1]/hooks'],
    ['::ffff:a00:1', 'http://[::ffff:10.0.0.1]/hooks'],
    ['::7f00:1', 'http://[::7f00:1]/hooks'],
    ['64:ff9b::a9fe:a9fe', 'http://[64:ff9b::a9fe:a9fe]/hooks'],
  ])('refuses the private address %s when the endpoint is saved', async (address, url) => {
    const res = await t.admin.post('/v1/webhook-endpoints', { url });
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ path: 'url', message: `url must not point at the private or reserved address ${address}` }]);
  });

  it('refuses a name that resolves to a private address when it is saved', async () => {
    const res = await t.admin.post('/v1/webhook-endpoints', { url: 'http://internal.example.com/hooks' });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].message).toMatch(/resolves to the private or reserved address 10.1.2.3/);
  });

  it('refuses at delivery a name that re-resolves from loopback to 192.168.x, before connecting', async () => {
    const r = await startReceiver();
    try {
      const e = await t.admin.post('/v1/webhook-endpoints', { url: `http://lan-rebind.example.com:${r.port}/hooks` });
      expect(e.status).toBe(201);
      dns.set('lan-rebind.example.com', '192.168.1.20');
      const payee = await createUserWithAccount(t.admin);
      await createRequest(t.admin, payee.accountId);
      const [attempt] = await attemptsOf(t.admin, e.body.id);
      // The guard's own refusal (not a connection error): the lookup failed the socket, so nothing was sent.
      expect(attempt).toMatchObject({ statusCode: null, responseBody: null, error: expect.stringMatching(/^EBLOCKED: refused: lan-rebind\.example\.com resolves to the private or reserved address 192\.168\.1\.20/) });
      expect(r.received).toHaveLength(0);
      await t.admin.request('DELETE', `/v1/webhook-endpoints/${e.body.id}`);
    } finally {
      await r.close();
    }
  });
});

describe('the delivery log of a loopback destination', () => {
  let r: Receiver;
  beforeAll(async () => {
    r = await startReceiver();
  });
  afterAll(() => r.close());

  async function firstAttempt(url: string): Promise<Attempt> {
    const e = await t.admin.post('/v1/webhook-endpoints', { url });
    expect(e.status).toBe(201);
    const payee = await createUserWithAccount(t.admin);
    await createRequest(t.admin, payee.accountId);
    const [attempt] = await attemptsOf(t.admin, e.body.id);
    await t.admin.request('DELETE', `/v1/webhook-endpoints/${e.body.id}`);
    return attempt as Attempt;
  }

  it('shows the status code but never the answer body', async () => {
    r.answer = () => ({ status: 500, body: 'internal service: db password is hunter2' });
    const attempt = await firstAttempt(r.url);
    expect(attempt).toMatchObject({ statusCode: 500, responseBody: null, error: null });
    expect(JSON.stringify(attempt)).not.toContain('hunter2');
  });

  it('says only "connection failed" for a closed port and for a receiver that never answers, the same words for both', async () => {
    const closed = await firstAttempt(`http://127.0.0.1:${await freePort()}/hooks`);
    r.answer = () => ({ status: 200, delayMs: FAST_WEBHOOKS.timeoutMs + 500 });
    const silent = await firstAttempt(r.url);
    expect(closed).toMatchObject({ statusCode: null, responseBody: null, error: WITHHELD_ERROR });
    expect(silent).toMatchObject({ statusCode: null, responseBody: null, error: WITHHELD_ERROR });
    r.answer = () => ({ status: 200 });
  });
});

describe('the default configuration', () => {
  it('turns the local opt-in off: test mode refuses loopback URLs and stops delivering to local endpoints saved before', async () => {
    expect(loadConfig({}).webhooks.allowLocalInTest).toBe(false);
    const database = testDatabase();
    const adminKey = generateSecret('test');
    const receiver = await startReceiver();
    try {
      // An endpoint saved while the server allowed local receivers...
      const before = await startTestServer({}, { database, adminKey });
      const saved = await before.admin.post('/v1/webhook-endpoints', { url: receiver.url });
      expect(saved.status).toBe(201);
      await before.close();
      // ...and the same database under the default configuration.
      const s = await startTestServer({ webhooks: { ...FAST_WEBHOOKS, allowLocalInTest: loadConfig({}).webhooks.allowLocalInTest } }, { database, adminKey });
      try {
        for (const [url, message] of [
          ['http://127.0.0.1:9/hooks', /must be https/],
          ['https://127.0.0.1/hooks', /private or reserved address 127.0.0.1/],
          ['https://[::1]/hooks', /private or reserved address ::1/],
          ['https://localhost/hooks', /must not point at localhost/],
        ] as const) {
          const res = await s.admin.post('/v1/webhook-endpoints', { url });
          expect(res.status, url).toBe(422);
          expect(res.body.errors[0].message).toMatch(message);
        }
        const payee = await createUserWithAccount(s.admin);
        await createRequest(s.admin, payee.accountId);
        const [attempt] = await attemptsOf(s.admin, saved.body.id);
        expect(attempt).toMatchObject({ statusCode: null, error: expect.stringMatching(/^refused: the URL must be https/) });
        expect(receiver.received).toHaveLength(0);
      } finally {
        await s.close();
      }
    } finally {
      await receiver.close();
      await database.drop();
    }
  });
});

describe('postWebhook', () => {
  it('keeps the first 1 KiB of an answer and reports the address it went to', async () => {
    const r = await startReceiver();
    try {
      r.answer = () => ({ status: 500, body: `boom ${'x'.repeat(5000)}` });
      const lookup = guardedLookup(policyFor('test', { allowLocalInTest: true, allowedPorts: [] }), systemResolver);
      const result = await postWebhook(r.url, {}, '{}', { timeoutMs: 1000, lookup });
      expect(result).toMatchObject({ statusCode: 500, remoteAddress: '127.0.0.1', error: null });
      expect(result.responseBody).toHaveLength(RESPONSE_BODY_LIMIT);
      expect(result.responseBody?.startsWith('boom x')).toBe(true);
      const named = await postWebhook(r.url.replace('127.0.0.1', 'localhost'), {}, '{}', { timeoutMs: 1000, lookup });
      expect(['127.0.0.1', '::1']).toContain(named.remoteAddress);
    } finally {
      await r.close();
    }
  });
});

describe('classifyAddress', () => {
  const table: [string, AddressClass][] = [
    ['93.184.216.34', 'public'], ['8.8.8.8', 'public'], ['2606:4700:4700::1111', 'public'], ['2a00:1450:4001:80b::200e', 'public'], ['::ffff:93.184.216.34', 'public'],
    ['127.0.0.1', 'loopback'], ['127.255.0.9', 'loopback'], ['::1', 'loopback'], ['::ffff:127.0.0.1', 'loopback'], ['::ffff:7f00:1', 'loopback'],
    ['10.0.0.1', 'private'], ['172.16.5.4', 'private'], ['172.31.255.255', 'private'], ['192.168.1.1', 'private'], ['169.254.169.254', 'private'],
    ['100.64.0.1', 'private'], ['0.0.0.0', 'private'], ['255.255.255.255', 'private'], ['224.0.0.1', 'private'], ['240.0.0.1', 'private'],
    ['192.0.0.8', 'private'], ['192.0.2.1', 'private'], ['198.18.0.1', 'private'], ['198.51.100.1', 'private'], ['203.0.113.1', 'private'],
    ['::', 'private'], ['::7f00:1', 'private'], ['::a00:1', 'private'], ['::ffff:0:7f00:1', 'private'], ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::7f00:1', 'private'], ['64:ff9b::808:808', 'private'], ['64:ff9b:1::7f00:1', 'private'], ['2002:7f00:1::1', 'private'], ['2002:808:808::1', 'private'],
    ['2001::1', 'private'], ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'private'], ['2001:db8::1', 'private'], ['2001:10::1', 'private'], ['2001:2::1', 'private'],
    ['fec0::1', 'private'], ['fc00::1', 'private'], ['fd00:ec2::254', 'private'], ['fe80::1', 'private'], ['fe80::1%eth0', 'private'], ['ff02::1', 'private'],
    ['100::1', 'private'], ['3fff::1', 'private'], ['5f00::1', 'private'], ['4000::1', 'private'], ['not-an-ip', 'private'], ['', 'private'],
  ];
  it.each(table)('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });
});
