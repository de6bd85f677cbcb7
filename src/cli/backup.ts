/**
 * `payreq backup <file>` and `payreq restore <file>` on the database `PAYREQ_DATABASE_URL`
 * names (docs/deployment.md, "Backups and restore"). SQLite only: a PostgreSQL database is
 * backed up with PostgreSQL's own tools, which the refusal names. The file work is
 * src/db/sqlite-backup.ts.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';

/** A refusal: printed as `error: <message>`, exit code 1 ({@link refusing}). */
class BackupRefusal extends Error {}

/** Where the PostgreSQL tools are explained. */
const POSTGRES_BACKUP = 'https://www.postgresql.org/docs/current/backup.html';

/** The SQLite file the configured URL names, or a refusal for PostgreSQL and in-memory databases. */
async function sqliteFile(command: 'backup' | 'restore'): Promise<{ file: string; url: string }> {
  const { loadConfig } = await import('../config.js');
  const url = loadConfig().databaseUrl;
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new BackupRefusal(
      command === 'backup'
        ? `payreq backup copies SQLite databases; PAYREQ_DATABASE_URL names PostgreSQL: use pg_dump (e.g. pg_dump --format=custom --file=payreq.dump "<url>"), or continuous archiving for point-in-time recovery (docs/deployment.md, "Backups and restore"; ${POSTGRES_BACKUP})`
        : `payreq restore restores SQLite databases; PAYREQ_DATABASE_URL names PostgreSQL: use pg_restore (or psql for a plain dump) with every server stopped (docs/deployment.md, "Backups and restore"; ${POSTGRES_BACKUP})`,
    );
  }
  if (!url.startsWith('sqlite:')) throw new BackupRefusal(`unsupported database URL "${url}": use sqlite:<path> or postgres://…`);
  const path = url.slice('sqlite:'.length);
  if (path === ':memory:') throw new BackupRefusal(`PAYREQ_DATABASE_URL names an in-memory database: there is nothing to ${command}`);
  return { file: resolve(path), url };
}

/**
 * Runs a command's action; a refusal (this file's, or src/db/sqlite-backup.ts's) is printed as
 * `error: <message>` with exit code 1, with no stack: nothing went wrong in the code. Anything
 * else propagates to src/cli.ts, which prints its stack.
 */
function refusing<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args) => {
    try {
      await action(...args);
    } catch (err) {
      if (!(err instanceof BackupRefusal || (err instanceof Error && err.name === 'SqliteBackupRefusal'))) throw err;
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = 1;
    }
  };
}

const KEY_NOTE =
  'The backup holds no master key: secrets in it are sealed with PAYREQ_SECRET_KEY, which you keep apart from the database and its backups (docs/deployment.md, "Backups and restore").';

async function backupCommand(file: string, opts: { force?: boolean }): Promise<void> {
  const { file: source, url } = await sqliteFile('backup');
  const { backupSqlite } = await import('../db/sqlite-backup.js');
  const { generatedKeyPath } = await import('../secret-key.js');
  const destination = resolve(file);
  const copy = await backupSqlite(source, destination, opts);
  const last = copy.migrations[copy.migrations.length - 1] ?? 'none';
  process.stdout.write(`backed up ${source} to ${destination} (${copy.pages * copy.pageSize} bytes, schema ${last})\n${KEY_NOTE}\n`);
  const generated = generatedKeyPath(url);
  if (generated !== undefined && existsSync(generated)) {
    process.stdout.write(`Test-mode secrets in it may be sealed with the generated key ${generated}: keep a copy of that file too (it only ever seals test-mode secrets), or set PAYREQ_SECRET_KEY and start the server once, which reseals them under it.\n`);
  }
}

async function restoreCommand(file: string): Promise<void> {
  const { file: target } = await sqliteFile('restore');
  const { restoreSqlite } = await import('../db/sqlite-backup.js');
  const backup = resolve(file);
  const copy = await restoreSqlite(backup, target);
  const last = copy.migrations[copy.migrations.length - 1] ?? 'none';
  process.stdout.write(`restored ${backup} to ${target} (schema ${last}); start the server with the PAYREQ_SECRET_KEY the backup's secrets were sealed with\n`);
}

/** Registers `backup <file>` and `restore <file>` on the `payreq` program. */
export function addBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('copy the SQLite database (PAYREQ_DATABASE_URL) to <file> while the server runs: one consistent snapshot, checked; for PostgreSQL use pg_dump')
    .argument('<file>', 'the backup file to write (refused if it exists, unless --force)')
    .option('--force', 'replace <file> if it exists')
    .action(refusing(backupCommand));
  program
    .command('restore')
    .description('put the backup <file> in place of the SQLite database (PAYREQ_DATABASE_URL); refused while a server has it open')
    .argument('<file>', 'a file written by payreq backup')
    .action(refusing(restoreCommand));
}
