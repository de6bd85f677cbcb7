/**
 * SQLite's checkpoints run off the event loop: the writer's own automatic checkpoints are off,
 * and the store's background worker copies the write-ahead log into the database file while
 * the writer goes on (docs/performance.md).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/db/store.js';
import { waitUntil } from './support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'payreq-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('background checkpoints', () => {
  it('copies committed pages into the database file without the writer checkpointing', async () => {
    const path = join(dir, 'p.db');
    const store = openStore({ url: `sqlite:${path}` });
    try {
      const { rows } = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db);
      expect(rows[0]?.wal_autocheckpoint).toBe(0);
      await sql`create table t (n integer, pad text)`.execute(store.db);
      const before = statSync(path).size;
      // About 4 MB in 40 transactions: with no checkpoint it would all stay in the -wal file.
      for (let i = 0; i < 40; i++) {
        await store.transaction(async (tx) => {
          for (let j = 0; j < 25; j++) await sql`insert into t (n, pad) values (${i * 25 + j}, ${'x'.repeat(4000)})`.execute(tx.db);
        });
      }
      await waitUntil(() => statSync(path).size > before + 3_000_000, 10_000, 'the database file to take the checkpointed pages');
      const count = await sql<{ n: number }>`select count(*) as n from t`.execute(store.db);
      expect(count.rows[0]?.n).toBe(1000);
    } finally {
      await store.close();
    }
  });

  it('leaves every write in the database file once closed', async () => {
    const path = join(dir, 'q.db');
    const store = openStore({ url: `sqlite:${path}` });
    await sql`create table t (n integer)`.execute(store.db);
    await store.transaction(async (tx) => void (await sql`insert into t (n) values (1), (2), (3)`.execute(tx.db)));
    await store.close();
    const again = openStore({ url: `sqlite:${path}` });
    try {
      const count = await sql<{ n: number }>`select count(*) as n from t`.execute(again.db);
      expect(count.rows[0]?.n).toBe(3);
    } finally {
      await again.close();
    }
  });
});
