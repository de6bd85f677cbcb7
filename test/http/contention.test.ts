/**
 * Contention on one payment request: many writers at once lose compare-and-set races and retry
 * from a fresh read. Whatever happens to a writer that loses every retry, it never answers 500:
 * it answers 503 `write_contention` with `Retry-After`, having written nothing, and its retry
 * goes through. Over real HTTP on both engines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceOf, createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ databasePoolSize: 40 });
});
afterAll(() => t.close());

describe('30 payments recorded at once on one request', () => {
  it('each answers 201, or 503 write_contention with Retry-After and nothing written; never 500, and every payment retried lands once', async () => {
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId, { amount: '100.00' });
    const pay = (i: number) => t.admin.post(`/v1/payment-requests/${pr.id}/payments`, { amount: '1.00', reference: `contention-${pr.id as string}-${i}` });
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) => pay(i)));
    const statuses = answers.map((a) => a.status);
    expect(statuses.filter((s) => s !== 201 && s !== 503), JSON.stringify(answers.filter((a) => a.status >= 500).map((a) => a.body))).toEqual([]);
    for (const a of answers.filter((x) => x.status === 503)) {
      expect(a.body.code).toBe('write_contention');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // The refused ones wrote nothing: retried one by one, each lands exactly once.
    for (const [i, a] of answers.entries()) {
      if (a.status !== 503) continue;
      expect((await pay(i)).status).toBe(201);
    }
    const after = await t.admin.get(`/v1/payment-requests/${pr.id}`);
    expect(after.body).toMatchObject({ status: 'pending', amountPaid: '30.00' });
    expect(await balanceOf(t.admin, payee.accountId)).toBe('30.00');
  });
});
