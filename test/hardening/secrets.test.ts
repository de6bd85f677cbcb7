/**
 * Secrets at rest (issue 12): webhook secrets and signing secrets are stored sealed with
 * AES-256-GCM under `PAYREQ_SECRET_KEY`, checked by opening them with WebCrypto (an independent
 * implementation); a server without the key refuses to start on a database with live-mode keys
 * or with a live bootstrap key; in test mode it warns and keeps a generated key beside the SQLite
 * file; rotation (`PAYREQ_SECRET_KEY_PREVIOUS`) reseals at start, after which the old key is no
 * longer needed, and a key the database was not sealed with is refused.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/app/api-keys.js';
import { processingSignature } from '../../src/dialects/alphapo/auth.js';
import { secretBox } from '../../src/db/secrets.js';
import { openStore } from '../../src/db/store.js';
import { generatedKeyPath } from '../../src/secret-key.js';
import { freePort, type PayreqProcess, spawnPayreq, TEST_SECRET_KEY, waitForHealthy } from '../../scripts/lib/process.js';
import { Client } from '../support/client.js';
import { testDatabase } from '../support/database.js';
import { startReceiver } from '../support/receiver.js';
import { recordFigure } from './figures.js';

const figures = { sealed: 0, plaintextFound: 0, refusedStarts: 0 };
afterAll(() => recordFigure('secrets at rest', `${figures.sealed} secrets sealed / ${figures.plaintextFound} found in plain text / ${figures.refusedStarts} starts refused as they should be`));

/** Opens a sealed value with WebCrypto, independently of src/db/secrets.ts. */
async function openWithWebCrypto(sealed: string, keyHex: string, place: string): Promise<string> {
  const [, , , iv, ciphertext, tag] = sealed.split(':');
  const key = await crypto.subtle.importKey('raw', Buffer.from(keyHex, 'hex'), 'AES-GCM', false, ['decrypt']);
  const data = Buffer.concat([Buffer.from(ciphertext as string, 'base64url'), Buffer.from(tag as string, 'base64url')]);
  const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: Buffer.from(iv as string, 'base64url'), additionalData: Buffer.from(place) }, key, data);
  return Buffer.from(plain).toString('utf8');
}

const database = testDatabase();
const admin = generateSecret('test');
let server: PayreqProcess | undefined;
let url = '';
afterAll(async () => {
  await stop();
  await database.drop();
});

async function stop(): Promise<void> {
  const running = server;
  server = undefined;
  running?.child.kill('SIGKILL');
  await running?.exited;
}

async function start(env: Record<string, string>): Promise<PayreqProcess> {
  await stop();
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  server = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: admin, ...env });
  await waitForHealthy(url, server, 60_000);
  return server;
}

/** Starts a server that must refuse; answers its output. */
async function refusedStart(env: Record<string, string>): Promise<string> {
  const port = await freePort();
  const proc = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, ...env });
  const code = await proc.exited;
  expect(code).not.toBe(0);
  figures.refusedStarts++;
  return proc.output();
}

async function rawRows(): Promise<{ endpoints: { id: string; secret: string }[]; keys: { id: string; signing_secret: string | null }[] }> {
  const store = openStore({ url: database.url, poolSize: 1 });
  try {
    const endpoints = await store.db.selectFrom('webhook_endpoints').select(['id', 'secret']).execute();
    const keys = await store.db.selectFrom('api_keys').select(['id', 'signing_secret']).where('signing_secret', 'is not', null).execute();
    return { endpoints, keys };
  } finally {
    await store.close();
  }
}

describe('secrets at rest', () => {
  const keyA = randomBytes(32).toString('hex');
  const keyB = randomBytes(32).toString('hex');
  let endpointSecret = '';
  let signing = { key: '', secret: '' };

  it('seals webhook and signing secrets with AES-256-GCM under PAYREQ_SECRET_KEY', { timeout: 120_000 }, async () => {
    await start({ PAYREQ_SECRET_KEY: keyA });
    const api = new Client(url, admin);
    const receiver = await startReceiver();
    const endpoint = await api.post('/v1/webhook-endpoints', { url: receiver.url, enabledEvents: ['payment_request.created'] });
    endpointSecret = endpoint.body.secret;
    const key = await api.post('/v1/api-keys', { grants: [{ permission: 'admin' }], signingSecret: true });
    signing = { key: key.body.secret, secret: key.body.signingSecret };
    const rows = await rawRows();
    const storedEndpoint = rows.endpoints.find((e) => e.id === endpoint.body.id) as { id: string; secret: string };
    const storedKey = rows.keys.find((k) => k.id === key.body.id) as { id: string; signing_secret: string };
    for (const [stored, plain] of [[storedEndpoint.secret, endpointSecret], [storedKey.signing_secret, signing.secret]] as const) {
      figures.sealed++;
      if (stored.includes(plain)) figures.plaintextFound++;
      expect(stored).toMatch(/^prqenc:v1:[0-9a-f]{8}:/);
      expect(stored).not.toContain(plain);
    }
    expect(await openWithWebCrypto(storedEndpoint.secret, keyA, `webhook_endpoints.secret:${storedEndpoint.id}`)).toBe(endpointSecret);
    expect(await openWithWebCrypto(storedKey.signing_secret, keyA, `api_keys.signing_secret:${storedKey.id}`)).toBe(signing.secret);
    await receiver.close();
  });

  it('binds a sealed value to its place: copied to another row it does not open', () => {
    const box = secretBox(Buffer.from(keyA, 'hex'));
    const sealed = box.seal('whsec_x', 'webhook_endpoints.secret:a');
    expect(box.open(sealed, 'webhook_endpoints.secret:a')).toBe('whsec_x');
    expect(() => box.open(sealed, 'webhook_endpoints.secret:b')).toThrow();
    // One bit of the ciphertext flipped (decoded and encoded again: the last base64url character of a field carries padding bits).
    const parts = sealed.split(':');
    const ciphertext = Buffer.from(parts[4] as string, 'base64url');
    ciphertext[0] = (ciphertext[0] as number) ^ 1;
    parts[4] = ciphertext.toString('base64url');
    expect(() => box.open(parts.join(':'), 'webhook_endpoints.secret:a')).toThrow();
  });

  it('rotates: started with the new key and the old as previous it reseals, then needs only the new one', { timeout: 180_000 }, async () => {
    await start({ PAYREQ_SECRET_KEY: keyB, PAYREQ_SECRET_KEY_PREVIOUS: keyA });
    const rows = await rawRows();
    for (const value of [...rows.endpoints.map((e) => e.secret), ...rows.keys.map((k) => k.signing_secret as string)]) {
      expect(value.startsWith(`prqenc:v1:${secretBox(Buffer.from(keyB, 'hex')).keyId}:`)).toBe(true);
    }
    await start({ PAYREQ_SECRET_KEY: keyB });
    // The webhook secret still signs deliveries a receiver verifies with what creation showed.
    const receiver = await startReceiver();
    const api = new Client(url, admin);
    const endpoints = (await api.get('/v1/webhook-endpoints')).body.data as { id: string }[];
    await api.request('PATCH', `/v1/webhook-endpoints/${endpoints[0]?.id as string}`, { url: receiver.url });
    const party = await api.post('/v1/parties', { type: 'legal_entity', name: 'Rotated shop' });
    const account = await api.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
    await api.post('/v1/payment-requests', { amount: '1.00', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 600 });
    await receiver.waitFor((r) => r.length >= 1, 15_000);
    expect(() => receiver.verify(receiver.received[0] as never, endpointSecret)).not.toThrow();
    await receiver.close();
    // The signing secret still checks AlphaPo's signatures: a signed request passes authentication.
    const body = '{}';
    const signed = await new Client(url, undefined).request('POST', '/compat/alphapo/api/v2/requests', body, { 'x-processing-key': signing.key, 'x-processing-signature': processingSignature(signing.secret, body) });
    expect(signed.status).not.toBe(401);
    expect(JSON.stringify(signed.body)).not.toMatch(/signature/i);
    // A key the database was not sealed with is refused at start, naming the variable (once the
    // server has stopped: on SQLite a second server would be refused for the file's lock first).
    await stop();
    const output = await refusedStart({ PAYREQ_SECRET_KEY: randomBytes(32).toString('hex') });
    expect(output).toMatch(/sealed under master key [0-9a-f]{8}.*PAYREQ_SECRET_KEY/);
  });

  it('refuses to start without a key on a database with live-mode keys, or with a live bootstrap key', { timeout: 120_000 }, async () => {
    await stop();
    expect(await refusedStart({ PAYREQ_SECRET_KEY: '', PAYREQ_BOOTSTRAP_API_KEY: generateSecret('live') })).toMatch(/PAYREQ_SECRET_KEY is required/);
    await start({ PAYREQ_SECRET_KEY: keyB, PAYREQ_BOOTSTRAP_API_KEY: generateSecret('live') });
    await stop();
    expect(await refusedStart({ PAYREQ_SECRET_KEY: '', PAYREQ_BOOTSTRAP_API_KEY: admin })).toMatch(/PAYREQ_SECRET_KEY is required: this database holds live-mode API keys/);
  });
});

describe('test mode without a key', () => {
  const testOnly = testDatabase('sqlite');
  afterAll(() => testOnly.drop());

  it('warns and keeps a generated key beside the SQLite file, used again after a restart', { timeout: 120_000 }, async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: testOnly.url, PAYREQ_BOOTSTRAP_API_KEY: admin, PAYREQ_SECRET_KEY: '' };
    let proc = spawnPayreq(['serve'], env);
    await waitForHealthy(base, proc, 60_000);
    const keyFile = generatedKeyPath(testOnly.url) as string;
    expect(existsSync(keyFile)).toBe(true);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(proc.output()).toMatch(/PAYREQ_SECRET_KEY is not set/);
    const receiver = await startReceiver();
    const api = new Client(base, admin);
    const secret = (await api.post('/v1/webhook-endpoints', { url: receiver.url, enabledEvents: ['payment_request.created'] })).body.secret as string;
    proc.child.kill('SIGKILL');
    await proc.exited;
    proc = spawnPayreq(['serve'], env);
    try {
      await waitForHealthy(base, proc, 60_000);
      const party = await api.post('/v1/parties', { type: 'legal_entity', name: 'Test shop' });
      const account = await api.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
      await api.post('/v1/payment-requests', { amount: '1.00', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 600 });
      await receiver.waitFor((r) => r.length >= 1, 15_000);
      expect(() => receiver.verify(receiver.received[0] as never, secret)).not.toThrow();
    } finally {
      proc.child.kill('SIGKILL');
      await proc.exited;
      await receiver.close();
    }
    expect(TEST_SECRET_KEY).toHaveLength(64);
  });
});
