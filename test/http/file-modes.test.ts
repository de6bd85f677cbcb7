/**
 * The files a server keeps at rest are its user's alone (README, "Secrets at rest"): the SQLite
 * database with its `-wal` and `-shm` files, and the generated test-mode master key (beside the
 * SQLite file, or under `./data` for PostgreSQL), mode 0600, whatever the umask lets through.
 */
import { chmodSync, existsSync, rmSync, statSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { generatedKeyPath } from '../../src/secret-key.js';
import { testDatabase, testEngine } from '../support/database.js';
import { startTestServer, type TestServer } from '../support/server.js';

let t: TestServer | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

function modeOf(file: string): string {
  return (statSync(file).mode & 0o777).toString(8);
}

describe('file modes', () => {
  it('creates the database, its WAL and shared-memory files and the generated key file readable by their owner only', async () => {
    const database = testDatabase();
    const keyFile = generatedKeyPath(database.url) as string;
    try {
      t = await startTestServer({ secretKey: undefined }, { database });
      // A write, so that the write-ahead log holds something.
      expect((await t.admin.post('/v1/parties', { type: 'legal_entity', name: 'Files' })).status).toBe(201);
      const files = [keyFile];
      if (testEngine() === 'sqlite') {
        const db = database.url.slice('sqlite:'.length);
        files.push(db, `${db}-wal`, `${db}-shm`);
      }
      for (const file of files) {
        expect(existsSync(file), file).toBe(true);
        expect(modeOf(file), file).toBe('600');
      }
    } finally {
      await t?.close();
      t = undefined;
      await database.drop();
      if (testEngine() === 'postgres') rmSync(keyFile, { force: true });
    }
  });

  it('narrows files an earlier run left readable by others when it starts again', async () => {
    const database = testDatabase();
    const keyFile = generatedKeyPath(database.url) as string;
    try {
      t = await startTestServer({ secretKey: undefined }, { database });
      const adminKey = t.adminKey;
      await t.close();
      const files = [keyFile, ...(testEngine() === 'sqlite' ? [database.url.slice('sqlite:'.length)] : [])];
      for (const file of files) chmodSync(file, 0o644);
      t = await startTestServer({ secretKey: undefined }, { database, adminKey });
      expect((await t.admin.get('/v1/api-keys')).status).toBe(200);
      for (const file of files) expect(modeOf(file), file).toBe('600');
    } finally {
      await t?.close();
      t = undefined;
      await database.drop();
      if (testEngine() === 'postgres') rmSync(keyFile, { force: true });
    }
  });
});
