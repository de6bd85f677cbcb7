/**
 * One process per SQLite file (src/db/sqlite-lock.ts), with real processes: a second
 * `payreq serve` on the same file refuses, says why and exits 1; `payreq migrate` refuses beside a
 * server while `--dry-run` and `payreq orgs add-key` (the way back in) keep working; after the
 * holder is SIGKILLed a new server starts. On PostgreSQL two servers share one database.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type PayreqProcess, type PayreqRun, runPayreq, spawnPayreq, TEST_SECRET_KEY, waitForHealthy } from '../../scripts/lib/process.js';
import { testDatabase } from '../support/database.js';

const database = testDatabase();
afterAll(() => database.drop());

/** Runs `payreq <args>` on this file's database to its end. */
function payreq(args: string[]): Promise<PayreqRun> {
  return runPayreq(args, { ...process.env, PAYREQ_DATABASE_URL: database.url, PAYREQ_LOG_LEVEL: 'warn', PAYREQ_SECRET_KEY: TEST_SECRET_KEY });
}

async function serve(): Promise<{ proc: PayreqProcess; url: string }> {
  const port = await freePort();
  return { proc: spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url }), url: `http://127.0.0.1:${port}` };
}

async function stop(proc: PayreqProcess): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
  await proc.exited;
}

if (database.engine === 'sqlite') describe('one process per SQLite file', () => {
  it('refuses a second server with the file, the holder and the fix; lets orgs add-key and migrate --dry-run through; frees the file when the holder is SIGKILLed', { timeout: 180_000 }, async () => {
    const first = await serve();
    try {
      await waitForHealthy(first.url, first.proc, 60_000);
      const file = database.url.slice('sqlite:'.length);

      const second = await serve();
      try {
        expect(await second.proc.exited).toBe(1);
        const said = second.proc.output();
        expect(said).toContain(`the SQLite database ${file} is in use by another Payreq process (payreq serve, pid ${String(first.proc.child.pid)}`);
        expect(said).toMatch(/one server per SQLite file/);
        expect(said).toMatch(/use PostgreSQL/);
        expect(said).not.toMatch(/\n\s+at /); // a message, not a stack
      } finally {
        await stop(second.proc);
      }

      // A schema change under a live server is refused; listing what is pending is not.
      const migrate = await payreq(['migrate']);
      expect(migrate.status).toBe(1);
      expect(migrate.stderr).toMatch(/in use by another Payreq process \(payreq serve, pid \d+/);
      expect(migrate.stderr).toMatch(/Stop the server first/);
      const dryRun = await payreq(['migrate', '--dry-run']);
      expect(dryRun.status, dryRun.stderr).toBe(0);
      expect(dryRun.stdout).toBe('none\n');

      // The way back in works beside the server, and the key it prints works on that server.
      const listed = await payreq(['orgs', 'list', '--json']);
      expect(listed.status, listed.stderr).toBe(0);
      const [org] = JSON.parse(listed.stdout) as { id: string }[];
      const added = await payreq(['orgs', 'add-key', '--org', org?.id ?? '', '--mode', 'test', '--json']);
      expect(added.status, added.stderr).toBe(0);
      const { secret } = JSON.parse(added.stdout) as { secret: string };
      expect((await fetch(`${first.url}/v1/payment-requests`, { headers: { authorization: `Bearer ${secret}` } })).status).toBe(200);

      // The kernel drops the lock with the process, however it ends.
      first.proc.child.kill('SIGKILL');
      await first.proc.exited;
      const third = await serve();
      try {
        await waitForHealthy(third.url, third.proc, 60_000);
      } finally {
        third.proc.child.kill('SIGTERM');
        expect(await third.proc.exited, third.proc.output()).toBe(0);
      }
      // Once no server runs, migrate takes the file.
      const after = await payreq(['migrate']);
      expect(after.status, after.stderr).toBe(0);
      expect(after.stdout).toMatch(/nothing to migrate/);
    } finally {
      await stop(first.proc);
    }
  });
});

if (database.engine === 'postgres') describe('several processes on PostgreSQL', () => {
  it('starts two servers on one database', { timeout: 120_000 }, async () => {
    const a = await serve();
    const b = await serve();
    try {
      await Promise.all([waitForHealthy(a.url, a.proc, 60_000), waitForHealthy(b.url, b.proc, 60_000)]);
    } finally {
      await stop(a.proc);
      await stop(b.proc);
    }
  });
});
