/**
 * Ledger invariants on a real database of the run's engine (docs/api.md): each currency sums to zero over all
 * accounts, a party's balance never goes negative, a failed transfer writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { balanceSumsByCurrency, findAccount, insertAccount, systemAccount } from '../src/db/account.repository.js';
import { insertOrg } from '../src/db/api-key.repository.js';
import { insertParty } from '../src/db/party.repository.js';
import { openStore, type Store } from '../src/db/store.js';
import type { Account } from '../src/domain/entities.js';
import { isDomainError } from '../src/domain/errors.js';
import { newId } from '../src/domain/ids.js';
import { movementPostings, transfer } from '../src/rails/ledger.js';
import { type TestDatabase, testDatabase } from './support/database.js';

let database: TestDatabase;
let store: Store;
const orgId = newId();
const accounts: Account[] = [];

beforeAll(async () => {
  database = testDatabase();
  store = openStore({ url: database.url });
  await store.migrate();
  await insertOrg(store, { id: orgId, name: 'ledger', createdAt: 0 });
  const partyId = newId();
  await insertParty(store, { id: partyId, orgId, mode: 'test', type: 'user', username: 'u', phone: null, email: null, name: null, merchant: null, number: 1, createdAt: 0 });
  for (const currency of ['USD', 'USD', 'USD', 'EUR', 'EUR']) {
    const a: Account = { id: newId(), orgId, mode: 'test', partyId, currency, balance: 0n, status: 'open', systemPurpose: null, address: null, number: null, createdAt: 0, updatedAt: 0 };
    await insertAccount(store, a);
    accounts.push(a);
  }
});
afterAll(async () => {
  await store.close();
  await database.drop();
});

async function balance(id: string): Promise<bigint> {
  return (await findAccount(store, orgId, 'test', id))?.balance ?? -1n;
}

async function entryCount(): Promise<number> {
  return Number((await store.db.selectFrom('ledger_entries').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
}

describe('ledger', () => {
  it('keeps every currency at zero and no party account negative through random movements', async () => {
    const [usd1, usd2, usd3, eur1, eur2] = accounts as [Account, Account, Account, Account, Account];
    await store.transaction(async (tx) => {
      for (const a of accounts) {
        const funding = await systemAccount(tx, orgId, 'test', a.currency, 'funding', 0);
        await transfer(tx, { orgId, mode: 'test', kind: 'fund', paymentRequestId: null, postings: [{ accountId: funding.id, amount: -10_000n }, { accountId: a.id, amount: 10_000n }], now: 0 });
      }
    });
    let seed = 7;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    let rejected = 0;
    for (let i = 0; i < 300; i++) {
      const from = accounts[rand(accounts.length)] as Account;
      const to = accounts[rand(accounts.length)] as Account;
      if (from.id === to.id) continue;
      const amount = BigInt(1 + rand(6000));
      const toAmount = from.currency === to.currency ? amount : BigInt(1 + rand(6000));
      try {
        await store.transaction(async (tx) => {
          const postings = await movementPostings(tx, orgId, 'test', { accountId: from.id, currency: from.currency, amount }, { accountId: to.id, currency: to.currency, amount: toAmount }, 0);
          await transfer(tx, { orgId, mode: 'test', kind: 'payment', paymentRequestId: null, postings, now: 0 });
        });
      } catch (err) {
        if (!isDomainError(err, 'insufficient_funds')) throw err;
        rejected += 1;
      }
      for (const a of [usd1, usd2, usd3, eur1, eur2]) expect(await balance(a.id)).toBeGreaterThanOrEqual(0n);
    }
    expect(rejected).toBeGreaterThan(0);
    const sums = await balanceSumsByCurrency(store, orgId, 'test');
    expect(sums.get('USD')).toBe(0n);
    expect(sums.get('EUR')).toBe(0n);
  });

  it('writes nothing when one posting would overdraw', async () => {
    const [a, b] = accounts as [Account, Account];
    const before = [await balance(a.id), await balance(b.id), await entryCount()];
    await expect(
      store.transaction((tx) => transfer(tx, { orgId, mode: 'test', kind: 'payment', paymentRequestId: null, postings: [{ accountId: a.id, amount: -(before[0] as bigint) - 1n }, { accountId: b.id, amount: (before[0] as bigint) + 1n }], now: 0 })),
    ).rejects.toMatchObject({ code: 'insufficient_funds' });
    expect([await balance(a.id), await balance(b.id), await entryCount()]).toEqual(before);
  });

  it('refuses an unbalanced transfer as a bug', async () => {
    const [a, b] = accounts as [Account, Account];
    await expect(store.transaction((tx) => transfer(tx, { orgId, mode: 'test', kind: 'payment', paymentRequestId: null, postings: [{ accountId: a.id, amount: -1n }, { accountId: b.id, amount: 2n }], now: 0 }))).rejects.toThrow(/unbalanced/);
  });
});
