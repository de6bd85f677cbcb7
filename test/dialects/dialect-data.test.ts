/**
 * Dialect data lives apart from the caller's metadata (docs/api.md "Metadata"): a /v1 caller's
 * `_pismo` is plain metadata that Pismo never shows; a request made through each dialect shows
 * its dialect's fields there and none on /v1 (request, events, standard webhook); and migration
 * 0011 moves the keys older versions kept in metadata into the dialects' data, after which each
 * dialect reads them back through its own API.
 */
import { type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/db/store.js';
import { generateSecret } from '../../src/app/api-keys.js';
import { fromRequestId } from '../../src/dialects/request-network/ids.js';
import { startTestChain, type TestChain } from '../support/chain.js';
import { Client } from '../support/client.js';
import { type TestDatabase, testDatabase } from '../support/database.js';
import { chainOverrides } from '../support/evm.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** Every key a dialect ever kept in a request's metadata. */
const OLD_KEYS = ['_pismo', '_deltapay_metadata', '_deltapay_timeout', '_centrapay', '_centrapayExternalRef', 'requestNetwork'];

let chain: TestChain;
beforeAll(async () => {
  chain = await startTestChain();
});
afterAll(async () => {
  await chain?.close();
});

/** The ids of what {@link seed} created: one request through each dialect, and the accounts around them. */
interface Seeded {
  pismo: string;
  deltapay: string;
  deltapayNumber: number;
  centrapay: string;
  requestNetwork: string;
  requestNetworkId: string;
}

/** A server on `database` (or a fresh one) that watches the test chain, so Request Network's creates work. */
function start(database?: TestDatabase, adminKey?: string): Promise<TestServer> {
  return startTestServer(chainOverrides(chain), database === undefined ? {} : { database, ...(adminKey === undefined ? {} : { adminKey }) });
}

/** Parties, numbered accounts and a merchant configuration for the four dialects, then one request through each. */
async function seed(t: TestServer, tag: string): Promise<Seeded> {
  const admin = t.admin;
  const shop = await admin.post('/v1/parties', { type: 'legal_entity', name: 'Shop' });
  const user = await admin.post('/v1/parties', { type: 'user', username: `payer-${tag}` });
  expect([shop.status, user.status]).toEqual([201, 201]);
  const shopAccount = await admin.post('/v1/accounts', { partyId: shop.body.id, currency: 'USD', number: 6001 });
  expect(shopAccount.status, JSON.stringify(shopAccount.body)).toBe(201);
  const config = await admin.post('/v1/merchant-configs', { name: 'Till', payeeAccountId: shopAccount.body.id });
  expect(config.status, JSON.stringify(config.body)).toBe(201);

  const pismo = new Client(`${t.url}/compat/pismo`, t.adminKey);
  const created = await pismo.post('/payments/v1/payment-requests', { amount: 5, to: { currency: 'USD', account: { id: 6001 } }, location: { lat: 1.5, lng: -2 }, metadata: { message: 'hi' } });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const byCode = await admin.get(`/v1/payment-requests?code=${created.body.code}`);

  const deltapay = new Client(`${t.url}/compat/deltapay`, t.adminKey);
  const dp = await deltapay.post('/payment-request/create', { account_id: 6001, amount: 7, transaction_type: 'rent', metadata: `invoice-${tag}`, timeout: 3600, username: `payer-${tag}` });
  expect(dp.status, JSON.stringify(dp.body)).toBe(200);
  const dpRow = await admin.get(`/v1/payment-requests?number=${dp.body.payment_request_id}`);

  const cp = await new Client(`${t.url}/compat/centrapay`, undefined).post('/api/payment-requests', { configId: config.body.id, value: { currency: 'USD', amount: '900' }, externalRef: `ext-${tag}`, invoiceRef: 'INV-1', partialAllowed: true }, { 'x-api-key': t.adminKey });
  expect(cp.status, JSON.stringify(cp.body)).toBe(200);

  const rn = await new Client(`${t.url}/compat/request-network`, undefined).post('/v2/request', { payee: chain.address(12), amount: '30', invoiceCurrency: 'USD', paymentCurrency: 'TST-private', reference: 'INV-7', customerInfo: { email: 'ana@example.com' } }, { 'x-api-key': t.adminKey });
  expect(rn.status, JSON.stringify(rn.body)).toBe(201);

  return { pismo: byCode.body.data[0].id, deltapay: dpRow.body.data[0].id, deltapayNumber: dp.body.payment_request_id, centrapay: cp.body.id, requestNetwork: fromRequestId(rn.body.requestId)!, requestNetworkId: rn.body.requestId };
}

/** Each dialect's own answer for its seeded request carries its fields. */
async function expectDialectsShowTheirFields(t: TestServer, s: Seeded, tag: string): Promise<void> {
  const pismoList = await new Client(`${t.url}/compat/pismo`, t.adminKey).get('/payments/v1/payment-requests?to=6001');
  expect(pismoList.status).toBe(200);
  const mine = (pismoList.body as { location: unknown; metadata: unknown; amount: number }[]).filter((i) => i.amount === 5);
  expect(mine).toMatchObject([{ location: { lat: 1.5, lng: -2 }, metadata: { message: 'hi' } }]);

  const deltapay = new Client(`${t.url}/compat/deltapay`, t.adminKey);
  const byId = await deltapay.get(`/payment-request/from-id?payment_request_id=${s.deltapayNumber}`);
  expect(byId.body).toMatchObject({ payment_request_id: s.deltapayNumber, metadata: `invoice-${tag}`, timeout: 3600 });
  const byMetadata = await deltapay.get(`/payment-request/from-metadata?metadata=invoice-${tag}`);
  expect(byMetadata.body).toMatchObject({ payment_request_id: s.deltapayNumber, metadata: `invoice-${tag}` });

  const centrapay = new Client(`${t.url}/compat/centrapay`, undefined);
  const cp = await centrapay.get(`/api/payment-requests/${s.centrapay}`, { 'x-api-key': t.adminKey });
  expect(cp.body).toMatchObject({ id: s.centrapay, externalRef: `ext-${tag}`, invoiceRef: 'INV-1', partialAllowed: true, expirySeconds: 120 });
  const byRef = await centrapay.get(`/api/payment-requests/external-ref/ext-${tag}`, { 'x-api-key': t.adminKey });
  expect(byRef.body.items.map((i: { id: string }) => i.id)).toEqual([s.centrapay]);

  const rn = await new Client(`${t.url}/compat/request-network`, undefined).get(`/v2/request/${s.requestNetworkId}`, { 'x-api-key': t.adminKey });
  expect(rn.status, JSON.stringify(rn.body)).toBe(200);
  expect(rn.body).toMatchObject({ reference: 'INV-7', customerInfo: { email: 'ana@example.com' } });
}

/** GET /v1 of each seeded request, and its events, name none of the dialects' data. */
async function expectV1ShowsNoDialectData(t: TestServer, s: Seeded, tag: string): Promise<void> {
  const expected: Record<string, unknown> = { [s.pismo]: { message: 'hi' }, [s.deltapay]: null, [s.centrapay]: null, [s.requestNetwork]: null };
  for (const id of [s.pismo, s.deltapay, s.centrapay, s.requestNetwork]) {
    const got = await t.admin.get(`/v1/payment-requests/${id}`);
    expect(got.status).toBe(200);
    expect(got.body.metadata).toEqual(expected[id]);
    expect(got.body).not.toHaveProperty('dialectData');
    const events = await t.admin.get(`/v1/payment-requests/${id}/events`);
    expect(events.status).toBe(200);
    expect(events.body.data.length).toBeGreaterThan(0);
    for (const text of [JSON.stringify(got.body), JSON.stringify(events.body)]) {
      for (const leak of [...OLD_KEYS.map((k) => `"${k}"`), 'dialectData', `invoice-${tag}`, `ext-${tag}`, 'INV-7', 'ana@example.com', '"lat"']) expect(text).not.toContain(leak);
    }
  }
}

describe('dialect data on a running server', () => {
  let t: TestServer;
  let receiver: Receiver;
  let seeded: Seeded;
  beforeAll(async () => {
    t = await start();
    receiver = await startReceiver();
    expect((await t.admin.post('/v1/webhook-endpoints', { url: `${receiver.url}/hooks` })).status).toBe(201);
    seeded = await seed(t, 'live');
  });
  afterAll(async () => {
    await t?.close();
    await receiver?.close();
  });

  it('keeps a /v1 caller\'s _pismo as its own metadata, which Pismo never shows', async () => {
    const party = await t.admin.post('/v1/parties', { type: 'user', username: 'forger' });
    const account = await t.admin.post('/v1/accounts', { partyId: party.body.id, currency: 'USD', number: 7777 });
    expect(account.status).toBe(201);
    const metadata = { _pismo: { location: { lat: 66.6, lng: 66.6 } }, _deltapay_metadata: 'forged', _centrapayExternalRef: 'forged-ref', requestNetwork: { paymentCurrency: 'TST-private', reference: 'forged' } };
    const created = await t.admin.post('/v1/payment-requests', { amount: '3.00', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 3600, metadata });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.metadata).toEqual(metadata);
    expect((await t.admin.get(`/v1/payment-requests/${created.body.id}`)).body.metadata).toEqual(metadata);

    const list = await new Client(`${t.url}/compat/pismo`, t.adminKey).get('/payments/v1/payment-requests?to=7777');
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    expect(list.body[0].location).toBeNull();
    expect(JSON.stringify(list.body)).not.toContain('66.6');
    // Nor can a /v1 create name dialect data outright.
    const direct = await t.admin.post('/v1/payment-requests', { amount: '3.00', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 3600, dialectData: { pismo: { location: 'forged' } } });
    expect(direct.status).toBe(422);
    // Nor do the other dialects read the caller's keys as theirs.
    const deltapay = await new Client(`${t.url}/compat/deltapay`, t.adminKey).get('/payment-request/from-metadata?metadata=forged');
    expect(deltapay.status).toBe(404);
    const centrapay = await new Client(`${t.url}/compat/centrapay`, undefined).get('/api/payment-requests/external-ref/forged-ref', { 'x-api-key': t.adminKey });
    expect(centrapay.body.items).toEqual([]);
  });

  it('shows each dialect its own fields', async () => {
    await expectDialectsShowTheirFields(t, seeded, 'live');
  });

  it('shows none of them on /v1: the request, its events and the standard webhooks', async () => {
    await expectV1ShowsNoDialectData(t, seeded, 'live');
    const ids = [seeded.pismo, seeded.deltapay, seeded.centrapay, seeded.requestNetwork];
    await receiver.waitFor((r) => ids.every((id) => r.some((x) => x.json?.data?.id === id)));
    for (const delivery of receiver.received.filter((x) => ids.includes(x.json?.data?.id))) {
      for (const leak of [...OLD_KEYS.map((k) => `"${k}"`), 'dialectData', 'invoice-live', 'ext-live', 'INV-7', '"lat"']) expect(delivery.body).not.toContain(leak);
    }
  });
});

describe('migration 0011', () => {
  const database = testDatabase();
  const adminKey = generateSecret('test');
  afterAll(() => database.drop());

  /** The metadata an older Payreq wrote for a request's dialect data (the shape 0011 reads). */
  function oldMetadata(metadata: Record<string, unknown> | null, dialectData: Record<string, Record<string, unknown>>): Record<string, unknown> {
    const old: Record<string, unknown> = { ...(metadata ?? {}) };
    const { pismo, deltapay, centrapay, 'request-network': rn } = dialectData;
    if (pismo) old['_pismo'] = pismo;
    if (deltapay?.['metadata'] !== undefined) old['_deltapay_metadata'] = deltapay['metadata'];
    if (deltapay?.['timeout'] !== undefined) old['_deltapay_timeout'] = deltapay['timeout'];
    if (centrapay) {
      const { externalRef, ...fields } = centrapay;
      old['_centrapay'] = fields;
      if (externalRef !== undefined) old['_centrapayExternalRef'] = externalRef;
    }
    if (rn) old['requestNetwork'] = rn;
    return old;
  }

  it('moves the keys older versions kept in metadata into the dialects\' data, which each dialect reads back', async () => {
    // Requests made through each dialect, then the database taken back to what 0010 left: the
    // dialects' fields in metadata (and in the events' snapshots), no dialect_data column.
    let t = await start(database, adminKey);
    const seeded = await seed(t, 'old');
    const party = await t.admin.post('/v1/parties', { type: 'user', username: 'own-keys' });
    const account = await t.admin.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
    const own = { requestNetwork: { paymentCurrency: 'mine' }, order: 7 };
    const ownRequest = await t.admin.post('/v1/payment-requests', { amount: '1.00', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 3600, metadata: own });
    const ownShaped = { requestNetwork: { paymentCurrency: 'USD', note: 'not a Request Network field' } };
    const ownShapedRequest = await t.admin.post('/v1/payment-requests', { amount: '1.00', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 3600, metadata: ownShaped });
    expect([ownRequest.status, ownShapedRequest.status]).toEqual([201, 201]);
    await t.close();

    const store = openStore({ url: database.url, poolSize: 1 });
    let before: Record<string, { metadata: string | null }>;
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tables as 0010 left them, which the schema type no longer describes
      const db = store.db as Kysely<any>;
      const rows = (await db.selectFrom('payment_requests').select(['id', 'metadata', 'dialect_data']).where('dialect_data', 'is not', null).execute()) as { id: string; metadata: string | null; dialect_data: string }[];
      expect(rows).toHaveLength(4);
      for (const row of rows) {
        const metadata = oldMetadata(row.metadata === null ? null : JSON.parse(row.metadata), JSON.parse(row.dialect_data));
        await sql`update payment_requests set metadata = ${JSON.stringify(metadata)} where id = ${row.id}`.execute(db);
        const events = (await db.selectFrom('events').select(['id', 'data']).where('payment_request_id', '=', row.id).execute()) as { id: string; data: string }[];
        for (const event of events) {
          const { dialectData: _gone, ...data } = JSON.parse(event.data);
          data.paymentRequest.metadata = metadata;
          await sql`update events set data = ${JSON.stringify(data)} where id = ${event.id}`.execute(db);
        }
      }
      await sql`alter table payment_requests drop column dialect_data`.execute(db);
      await sql`delete from kysely_migration where name = '0011_dialect_data'`.execute(db);
      const names = (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows.map((r) => r.name);
      expect(names[names.length - 1]).toBe('0010_idempotency_per_key');
      before = Object.fromEntries(((await db.selectFrom('payment_requests').select(['id', 'metadata']).execute()) as { id: string; metadata: string | null }[]).map((r) => [r.id, r]));
      expect(JSON.parse(before[seeded.deltapay]!.metadata!)).toEqual({ _deltapay_metadata: 'invoice-old', _deltapay_timeout: 3600 });
    } finally {
      await store.close();
    }

    // The upgrade: 0011 runs as the server starts.
    t = await start(database, adminKey);
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw rows
      const db = t.server.deps.store.db as Kysely<any>;
      const rows = Object.fromEntries(((await db.selectFrom('payment_requests').select(['id', 'metadata', 'dialect_data']).execute()) as { id: string; metadata: string | null; dialect_data: string | null }[]).map((r) => [r.id, { metadata: r.metadata === null ? null : JSON.parse(r.metadata), dialectData: r.dialect_data === null ? null : JSON.parse(r.dialect_data) }]));
      expect(rows[seeded.pismo]).toEqual({ metadata: { message: 'hi' }, dialectData: { pismo: { location: { lat: 1.5, lng: -2 } } } });
      expect(rows[seeded.deltapay]).toEqual({ metadata: null, dialectData: { deltapay: { metadata: 'invoice-old', timeout: 3600 } } });
      expect(rows[seeded.centrapay]).toEqual({ metadata: null, dialectData: { centrapay: { configId: expect.any(String), expirySeconds: 120, externalRef: 'ext-old', invoiceRef: 'INV-1', partialAllowed: true } } });
      expect(rows[seeded.requestNetwork]).toEqual({ metadata: null, dialectData: { 'request-network': { paymentCurrency: 'TST-private', reference: 'INV-7', customerInfo: { email: 'ana@example.com' } } } });
      // A /v1 caller's own `requestNetwork` key stays its own.
      expect(rows[ownRequest.body.id]).toEqual({ metadata: own, dialectData: null });
      expect(rows[ownShapedRequest.body.id]).toEqual({ metadata: ownShaped, dialectData: null });

      const events = (await db.selectFrom('events').select('data').where('payment_request_id', '=', seeded.deltapay).execute()) as { data: string }[];
      expect(events.length).toBeGreaterThan(0);
      for (const event of events) {
        const data = JSON.parse(event.data);
        expect(data.paymentRequest.metadata).toBeNull();
        expect(data.dialectData).toEqual({ deltapay: { metadata: 'invoice-old', timeout: 3600 } });
      }

      await expectDialectsShowTheirFields(t, seeded, 'old');
      await expectV1ShowsNoDialectData(t, seeded, 'old');
      expect((await t.admin.get(`/v1/payment-requests/${ownRequest.body.id}`)).body.metadata).toEqual(own);
    } finally {
      await t.close();
    }
  });
});
