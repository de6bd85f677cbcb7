/**
 * On PostgreSQL payment requests are numbered from a sequence per org and mode, so concurrent
 * creates never queue on a counter row: numbers continue above those given before the
 * sequence existed, a create that fails after taking its number leaves a gap, and an org
 * without a sequence falls back to the counter row.
 */
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey, insertOrg } from '../../src/db/api-key.repository.js';
import { createNumberSequences, paymentRequestSequence } from '../../src/db/number.repository.js';
import { generateSecret, hashSecret } from '../../src/app/api-keys.js';
import { newId } from '../../src/domain/ids.js';
import { Client } from '../support/client.js';
import { createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t.close();
});

const request = (accountId: string, extra: Record<string, unknown> = {}) => ({ amount: '1', currency: 'USD', payee: { accountId }, expiresIn: 600, ...extra });

describe('payment request numbers on PostgreSQL', () => {
  it('come from the org and mode sequence, and a create failing after its number leaves a gap', async () => {
    const payee = await createUserWithAccount(t.admin);
    const first = await t.admin.post('/v1/payment-requests', request(payee.accountId, { externalId: 'order-1' }));
    expect(first.status).toBe(201);
    // The duplicate externalId fails at the insert, after the number was taken.
    expect((await t.admin.post('/v1/payment-requests', request(payee.accountId, { externalId: 'order-1' }))).status).toBe(409);
    const third = await t.admin.post('/v1/payment-requests', request(payee.accountId));
    expect(third.body.number).toBe(first.body.number + 2);
    const org = await t.server.deps.store.db.selectFrom('orgs').select('id').executeTakeFirstOrThrow();
    const seq = paymentRequestSequence(org.id, 'test');
    const { rows } = await sql<{ last_value: number }>`select last_value from ${sql.id(seq)}`.execute(t.server.deps.store.db);
    expect(Number(rows[0]?.last_value)).toBe(third.body.number);
  });

  it('continue above the numbers an org had before its sequence was made', async () => {
    const store = t.server.deps.store;
    const payee = await createUserWithAccount(t.admin);
    const before = await t.admin.post('/v1/payment-requests', request(payee.accountId));
    const org = await store.db.selectFrom('orgs').select('id').executeTakeFirstOrThrow();
    // As an org numbered by the counter row only: no sequence, the counter well ahead.
    await sql`drop sequence ${sql.id(paymentRequestSequence(org.id, 'test'))}`.execute(store.db);
    await store.db
      .insertInto('number_counters')
      .values({ org_id: org.id, mode: 'test', kind: 'payment_request', last: before.body.number + 40 })
      .onConflict((oc) => oc.columns(['org_id', 'mode', 'kind']).doUpdateSet({ last: before.body.number + 40 }))
      .execute();
    const byCounter = await t.admin.post('/v1/payment-requests', request(payee.accountId));
    expect(byCounter.body.number).toBe(before.body.number + 41);
    await store.transaction((tx) => createNumberSequences(tx, org.id));
    const bySequence = await t.admin.post('/v1/payment-requests', request(payee.accountId));
    expect(bySequence.body.number).toBe(before.body.number + 42);
  });

  it('start from 1 for a new org, apart from other orgs', async () => {
    const store = t.server.deps.store;
    const orgId = newId();
    await store.transaction((tx) => insertOrg(tx, { id: orgId, name: 'other', createdAt: Date.now() }));
    const key = generateSecret('test');
    await insertApiKey(store, { id: newId(), orgId, mode: 'test', name: 'admin', prefix: key.slice(0, 14), grants: [{ permission: 'admin' }], createdBy: null, createdAt: Date.now(), revokedAt: null, expiresAt: null, lastUsedAt: null, hasSigningSecret: false }, hashSecret(key));
    const other = new Client(t.url, key);
    const payee = await createUserWithAccount(other);
    expect((await other.post('/v1/payment-requests', request(payee.accountId))).body.number).toBe(1);
    expect((await other.post('/v1/payment-requests', request(payee.accountId))).body.number).toBe(2);
  });
});
