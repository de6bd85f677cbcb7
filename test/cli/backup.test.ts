/**
 * `payreq backup` and `payreq restore` as processes (docs/deployment.md, "Backups and restore"):
 * a server on a SQLite file under a load of concurrent creates, backed up several times while it
 * writes; every create acknowledged before a backup started is in that backup; the last backup,
 * restored into a fresh path, serves every one of them through the API and passes SQLite's
 * integrity check. The same copy is also called in this process, against the ids acknowledged up
 * to the moment it starts (a plain file copy fails that: it misses the log's last commits, or is
 * torn by a checkpoint). A restore over the database of a running server is refused and changes
 * nothing; `payreq backup` on PostgreSQL refuses and names pg_dump.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/app/api-keys.js';
import { backupSqlite } from '../../src/db/sqlite-backup.js';
import { freePort, type PayreqRun, runPayreq, spawnPayreq, TEST_SECRET_KEY, waitForHealthy } from '../../scripts/lib/process.js';
import { Client } from '../support/client.js';
import { testDatabase, testEngine } from '../support/database.js';

const dir = mkdtempSync(join(tmpdir(), 'payreq-backup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `payreq …` to completion, asynchronously (the load keeps running beside it). */
function payreq(args: string[], env: Record<string, string>): Promise<PayreqRun> {
  return runPayreq(args, { ...process.env, PAYREQ_LOG_LEVEL: 'warn', PAYREQ_SECRET_KEY: TEST_SECRET_KEY, ...env });
}

/** The payment request ids in a SQLite file, and its `PRAGMA integrity_check`. */
function readFile(file: string): { ids: Set<string>; integrity: string } {
  const db = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    const ids = new Set((db.prepare('select id from payment_requests').all() as { id: string }[]).map((r) => r.id));
    return { ids, integrity: String(db.pragma('integrity_check', { simple: true })) };
  } finally {
    db.close();
  }
}

if (testEngine() === 'sqlite') describe('payreq backup and restore (SQLite)', () => {
  it('backs up under write load; the restored copy holds every create acknowledged before the backup started', { timeout: 240_000 }, async () => {
    const database = testDatabase('sqlite');
    const file = database.url.slice('sqlite:'.length);
    const key = generateSecret('test');
    const port = await freePort();
    const env = { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: key };
    const url = `http://127.0.0.1:${port}`;
    const api = new Client(url, key);
    let server = spawnPayreq(['serve'], env);
    let stop = false;
    let workers: Promise<void>[] = [];
    try {
      await waitForHealthy(url, server, 60_000);
      const party = await api.post('/v1/parties', { type: 'user', username: 'backup' });
      const account = await api.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' });
      expect(account.status).toBe(201);

      const acknowledged: string[] = [];
      const worker = async () => {
        while (!stop) {
          const res = await api.post('/v1/payment-requests', { amount: '1.00', currency: 'USD', payee: { accountId: account.body.id }, expiresIn: 600 });
          if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
          acknowledged.push(res.body.id as string);
        }
      };
      workers = Array.from({ length: 8 }, () => worker());
      const backups: { file: string; before: string[]; during: number }[] = [];
      for (let i = 0; i < 3; i++) {
        while (acknowledged.length < 150 * (i + 1)) await new Promise((r) => setTimeout(r, 20));
        const backup = join(dir, `backup-${i}.db`);
        // Acknowledged before the process starts, so before its copy starts.
        const before = acknowledged.slice();
        const result = await payreq(['backup', backup], { PAYREQ_DATABASE_URL: database.url });
        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout).toContain(`to ${backup}`);
        backups.push({ file: backup, before, during: acknowledged.length - before.length });
      }

      // The same copy called in this process: the ids acknowledged up to the very moment it
      // starts (a process's start takes a second, in which the server's checkpointer catches up
      // even a plain file copy; this one would miss the log's last commits).
      const inProcess = join(dir, 'in-process.db');
      const beforeCall = acknowledged.slice();
      await backupSqlite(file, inProcess);
      const inProcessIds = readFile(inProcess).ids;
      expect(beforeCall.filter((id) => !inProcessIds.has(id))).toEqual([]);
      process.stdout.write(`in-process backup under load: ${beforeCall.length} creates acknowledged before the call, all in it; ${inProcessIds.size} rows in it\n`);

      // A restore over the running server's database is refused, and changes nothing.
      const inode = statSync(file).ino;
      const refused = await payreq(['restore', backups[0]!.file], { PAYREQ_DATABASE_URL: database.url });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/error: .* is in use .*stop it first; nothing was changed/);
      expect(statSync(file).ino).toBe(inode);

      stop = true;
      await Promise.all(workers);
      const last = acknowledged[acknowledged.length - 1]!;
      expect((await api.get(`/v1/payment-requests/${last}`)).status).toBe(200);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);

      for (const backup of backups) {
        const { ids, integrity } = readFile(backup.file);
        expect(integrity).toBe('ok');
        expect(backup.before.filter((id) => !ids.has(id))).toEqual([]);
        process.stdout.write(`backup under load: ${backup.before.length} creates acknowledged before it started, all in it; ${backup.during} acknowledged while it ran, ${ids.size} rows in it\n`);
      }

      // The last backup, restored into a fresh path, serves every create acknowledged before it.
      const chosen = backups[backups.length - 1]!;
      const restoredUrl = `sqlite:${join(dir, 'restored', 'payreq.db')}`;
      const restored = await payreq(['restore', chosen.file], { PAYREQ_DATABASE_URL: restoredUrl });
      expect(restored.status, restored.stderr).toBe(0);
      server = spawnPayreq(['serve'], { ...env, PAYREQ_DATABASE_URL: restoredUrl });
      await waitForHealthy(url, server, 60_000);
      const missing: string[] = [];
      for (let i = 0; i < chosen.before.length; i += 16) {
        const answers = await Promise.all(chosen.before.slice(i, i + 16).map(async (id) => [id, (await api.get(`/v1/payment-requests/${id}`)).status] as const));
        for (const [id, status] of answers) if (status !== 200) missing.push(id);
      }
      expect(missing).toEqual([]);
      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(readFile(join(dir, 'restored', 'payreq.db')).integrity).toBe('ok');

      // Over the original, stopped: its -wal and -shm go; the file is the backup's.
      const over = await payreq(['restore', chosen.file], { PAYREQ_DATABASE_URL: database.url });
      expect(over.status, over.stderr).toBe(0);
      expect(existsSync(`${file}-wal`)).toBe(false);
      expect(existsSync(`${file}-shm`)).toBe(false);
      const back = readFile(file);
      expect(back.integrity).toBe('ok');
      expect(back.ids).toEqual(readFile(chosen.file).ids);
      process.stdout.write(`restored ${chosen.file}: ${chosen.before.length} acknowledged-before creates served by the API; ${acknowledged.length} acknowledged in all\n`);
    } finally {
      stop = true;
      await Promise.allSettled(workers);
      server.child.kill('SIGKILL');
      await server.exited;
      await database.drop();
    }
  });

  it('refuses a file that is not a Payreq database, and one that is newer than this build', { timeout: 60_000 }, async () => {
    const target = `sqlite:${join(dir, 'refusals', 'payreq.db')}`;
    const plain = join(dir, 'plain.db');
    new SQLite(plain).exec('create table t (x)').close();
    const notPayreq = await payreq(['restore', plain], { PAYREQ_DATABASE_URL: target });
    expect(notPayreq.status).toBe(1);
    expect(notPayreq.stderr).toMatch(/is not a Payreq database/);

    const newer = join(dir, 'newer.db');
    const db = new SQLite(newer);
    db.exec('create table kysely_migration (name varchar(255) not null primary key, timestamp varchar(255) not null)');
    db.prepare('insert into kysely_migration values (?, ?)').run('9999_from_the_future', new Date().toISOString());
    db.close();
    const tooNew = await payreq(['restore', newer], { PAYREQ_DATABASE_URL: target });
    expect(tooNew.status).toBe(1);
    expect(tooNew.stderr).toMatch(/newer than this build of Payreq .*9999_from_the_future/);
    expect(existsSync(join(dir, 'refusals', 'payreq.db'))).toBe(false);
  });
});

if (testEngine() === 'postgres') describe('payreq backup and restore (PostgreSQL)', () => {
  it('refuses and names pg_dump and pg_restore', { timeout: 60_000 }, async () => {
    const database = testDatabase('postgres');
    const backup = await payreq(['backup', join(dir, 'pg.db')], { PAYREQ_DATABASE_URL: database.url });
    expect(backup.status).toBe(1);
    expect(backup.stderr).toMatch(/^error: payreq backup copies SQLite databases; .*use pg_dump .*https:\/\/www\.postgresql\.org\/docs\/current\/backup\.html/);
    const restore = await payreq(['restore', join(dir, 'pg.db')], { PAYREQ_DATABASE_URL: database.url });
    expect(restore.status).toBe(1);
    expect(restore.stderr).toMatch(/use pg_restore/);
    expect(existsSync(join(dir, 'pg.db'))).toBe(false);
  });
});
