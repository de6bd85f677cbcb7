/**
 * Stored idempotent answers at rest: an answer that shows a secret once (an API key's secret and
 * signing secret, a webhook endpoint's `whsec_` secret, the PKCS#8 private key of a `deltapay` or
 * `centrapay` endpoint) is sealed, so no secret sits in plain text in the table, nor in the SQLite
 * file or its write-ahead log; the same key's retry still gets the answer byte for byte. The
 * upgrade that brought sealing deletes the plain-text answers stored before it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { type Kysely, Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SECRET_KEY } from '../../scripts/lib/process.js';
import { generateSecret } from '../../src/app/api-keys.js';
import { migrations } from '../../src/db/migrations/index.js';
import { secretBox } from '../../src/db/secrets.js';
import { openStore } from '../../src/db/store.js';
import { type TestDatabase, testDatabase } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';

/** The bytes of the SQLite file and its write-ahead log, as one latin1 string (empty on PostgreSQL). */
function sqliteBytes(database: TestDatabase): string {
  if (database.engine !== 'sqlite') return '';
  const path = database.url.slice('sqlite:'.length);
  return [path, `${path}-wal`].filter((p) => existsSync(p)).map((p) => readFileSync(p).toString('latin1')).join('');
}

/** Pieces of a secret that would show in a stored JSON answer: the whole value, and for a PEM key each base64 line. */
function piecesOf(secret: string): string[] {
  return secret.includes('-----BEGIN') ? secret.split('\n').filter((line) => line.length >= 40 && !line.startsWith('-----')) : [secret];
}

describe('stored idempotent answers', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it('keeps no secret in plain text in the database, and replays the answer to the same key byte for byte', async () => {
    const calls: [string, Record<string, unknown>, (body: Record<string, string>) => string[]][] = [
      ['/v1/api-keys', { name: 'signer', grants: [{ permission: 'payment_requests:create' }], signingSecret: true }, (b) => [b['secret'] as string, b['signingSecret'] as string]],
      ['/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/standard' }, (b) => [b['secret'] as string]],
      ['/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/deltapay', format: 'deltapay' }, (b) => [b['secret'] as string]],
      ['/v1/webhook-endpoints', { url: 'http://127.0.0.1:9/centrapay', format: 'centrapay' }, (b) => [b['secret'] as string]],
    ];
    const secrets: string[] = [];
    for (const [i, [path, body, secretsOf]] of calls.entries()) {
      const headers = { 'idempotency-key': `secret-${i}` };
      const first = await fetch(`${t.url}${path}`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const firstText = await first.text();
      expect(first.status, firstText).toBe(201);
      const shown = secretsOf(JSON.parse(firstText) as Record<string, string>);
      for (const secret of shown) expect(secret.length).toBeGreaterThan(20);
      secrets.push(...shown);
      const replay = await fetch(`${t.url}${path}`, { method: 'POST', headers: { ...headers, authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.status).toBe(201);
      expect(await replay.text()).toBe(firstText);
    }
    expect(secrets.some((s) => s.startsWith('whsec_'))).toBe(true);
    expect(secrets.filter((s) => s.includes('PRIVATE KEY'))).toHaveLength(2);

    const rows = await t.server.deps.store.db.selectFrom('idempotency_keys').selectAll().where('key', 'like', 'secret-%').execute();
    expect(rows).toHaveLength(calls.length);
    const box = secretBox(Buffer.from(TEST_SECRET_KEY, 'hex'));
    for (const row of rows) {
      expect(row.response_body).toMatch(new RegExp(`^prqenc:v1:${box.keyId}:`));
      // Bound to its place: under another API key's id it does not open.
      expect(() => box.open(row.response_body as string, `idempotency_keys.response_body:${row.org_id}:${row.mode}:someone-else:${row.key}`)).toThrow();
    }
    const table = JSON.stringify(rows);
    // The SQLite file and its log after the writes have been checkpointed into it, and the live log.
    const bytes = sqliteBytes(t.database);
    for (const secret of secrets) {
      for (const piece of piecesOf(secret)) {
        expect(table).not.toContain(piece);
        expect(bytes).not.toContain(piece);
      }
    }
  });
});

describe('stored answers past their 24 hours', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it('are deleted by the server, the sealed secret with them, though their key is never sent again', async () => {
    const headers = { 'idempotency-key': 'kept-a-day' };
    const request = { name: 'kept a day', grants: [{ permission: 'payment_requests:read' }] };
    const created = await t.admin.post('/v1/api-keys', request, headers);
    expect(created.status).toBe(201);
    const stored = () => t.server.deps.store.db.selectFrom('idempotency_keys').select(['key', 'response_body']).where('key', '=', 'kept-a-day').execute();
    // Within the 24 hours the answer is kept, and replayed.
    t.clock.advance(23 * 60 * 60 * 1000);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stored()).toHaveLength(1);
    expect((await t.admin.post('/v1/api-keys', request, headers)).headers.get('idempotent-replayed')).toBe('true');
    // Past them the record goes, without the key being sent again.
    t.clock.advance(60 * 60 * 1000 + 1000);
    const deadline = Date.now() + 5000;
    while ((await stored()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await stored()).toEqual([]);
  });
});

describe('the upgrade to sealed answers', () => {
  const database = testDatabase();
  afterAll(() => database.drop());

  it('deletes the plain-text answers stored before it, from the table and from the SQLite file', async () => {
    const leaked = generateSecret('test');
    // The database as the previous version left it: migrated up to 0009, with a stored answer in plain text.
    const store = openStore({ url: database.url, poolSize: 1 });
    try {
      const schema = new URL(database.url.replace(/^sqlite:/, 'file:')).searchParams.get('schema') ?? undefined;
      if (database.engine === 'postgres' && schema !== undefined) await sql`create schema if not exists ${sql.id(schema)}`.execute(store.db);
      const provider = { getMigrations: () => Promise.resolve(migrations(database.engine)) };
      const migrator = new Migrator({ db: store.db as Kysely<unknown>, provider, ...(database.engine === 'postgres' ? { migrationTableSchema: schema ?? 'public' } : {}) });
      const { error } = await migrator.migrateTo('0009_api_key_lifecycle');
      expect(error).toBeUndefined();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the table as it was before 0010, which the schema type no longer describes
      const old = store.db as Kysely<any>;
      // Enough rows to fill pages that the tables created after the purge do not reuse at once.
      for (let i = 0; i < 200; i++) {
        await old
          .insertInto('idempotency_keys')
          .values({ org_id: 'org', mode: 'test', key: `old-${i}`, request_hash: 'h', state: 'done', response_status: 201, response_body: JSON.stringify({ secret: leaked, padding: 'x'.repeat(1000) }), created_at: Date.now(), claim_token: null, locked_until: null })
          .execute();
      }
    } finally {
      await store.close();
    }
    expect(sqliteBytes(database).includes(leaked)).toBe(database.engine === 'sqlite');

    const t = await startTestServer({}, { database, adminKey: generateSecret('test') });
    try {
      const rows = await t.server.deps.store.db.selectFrom('idempotency_keys').selectAll().execute();
      expect(rows).toEqual([]);
    } finally {
      await t.close();
    }
    expect(sqliteBytes(database)).not.toContain(leaked);
  });
});

describe('rotating the master key', () => {
  const database = testDatabase();
  afterAll(() => database.drop());

  it('reseals stored answers at start, so that the same key\'s retry replays them once the old key is dropped', async () => {
    const [keyA, keyB] = [randomBytes(32), randomBytes(32)];
    const adminKey = generateSecret('test');
    const request = { name: 'rotated', grants: [{ permission: 'payment_requests:read' }] };
    const headers = { 'idempotency-key': 'rotate-1' };
    let t = await startTestServer({ secretKey: keyA }, { database, adminKey });
    const first = await t.admin.post('/v1/api-keys', request, headers);
    expect(first.status).toBe(201);
    await t.close();
    t = await startTestServer({ secretKey: keyB, previousSecretKeys: [keyA] }, { database, adminKey });
    await t.close();
    t = await startTestServer({ secretKey: keyB, previousSecretKeys: [] }, { database, adminKey });
    try {
      const [row] = await t.server.deps.store.db.selectFrom('idempotency_keys').select('response_body').where('key', '=', 'rotate-1').execute();
      expect(row?.response_body).toMatch(new RegExp(`^prqenc:v1:${secretBox(keyB).keyId}:`));
      const replay = await t.admin.post('/v1/api-keys', request, headers);
      expect(replay.headers.get('idempotent-replayed')).toBe('true');
      expect(replay.body).toEqual(first.body);
    } finally {
      await t.close();
    }
  });
});
