/**
 * SQLite's durable mode: `durable()` waits for a sync of the write-ahead log that started after
 * the caller's commit, and the commits made while one sync runs share the next (group commit).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/db/store.js';

const dir = mkdtempSync(join(tmpdir(), 'payreq-group-commit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('group commit', () => {
  it('syncs after a commit, not before, and shares one sync among the commits waiting for it', async () => {
    const store = openStore({ url: `sqlite:${join(dir, 'p.db')}`, durable: true });
    try {
      await sql`create table t (n integer)`.execute(store.db);
      await store.durable();
      expect(store.syncs).toBe(1);
      // Nothing written since: no sync.
      await store.durable();
      expect(store.syncs).toBe(1);
      // 50 transactions committing together, each answered after durable(): far fewer syncs than commits.
      await Promise.all(Array.from({ length: 50 }, async (_, n) => {
        await store.transaction(async (tx) => {
          await sql`insert into t (n) values (${n})`.execute(tx.db);
        });
        await store.durable();
      }));
      const syncs = store.syncs - 1;
      expect(syncs).toBeGreaterThanOrEqual(1);
      expect(syncs).toBeLessThan(50);
      // A commit after the last sync needs one more.
      await store.transaction(async (tx) => void (await sql`insert into t (n) values (99)`.execute(tx.db)));
      const before = store.syncs;
      await store.durable();
      expect(store.syncs).toBe(before + 1);
    } finally {
      await store.close();
    }
  });

  it('never syncs outside durable mode', async () => {
    const store = openStore({ url: `sqlite:${join(dir, 'q.db')}` });
    try {
      await sql`create table t (n integer)`.execute(store.db);
      await store.durable();
      expect(store.syncs).toBe(0);
    } finally {
      await store.close();
    }
  });
});
