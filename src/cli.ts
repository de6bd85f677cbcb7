#!/usr/bin/env node
/**
 * The `payreq` command (commander):
 * - `payreq serve` (the default): migrate, bootstrap, listen; SIGTERM/SIGINT shut down gracefully.
 * - `payreq migrate [--dry-run]`: run pending migrations and exit (on SQLite not beside a running
 *   server); `--dry-run` lists them instead.
 * - `payreq orgs create --name …` / `payreq orgs list` / `payreq orgs add-key --org … --mode …`:
 *   orgs on the database that `PAYREQ_DATABASE_URL` names (run where the server runs; no server
 *   needed). `create` prints the new org's test admin key once, and its live one only with
 *   `PAYREQ_SECRET_KEY` set (a database holding live-mode keys needs it on every server);
 *   `add-key` issues a key (by default `admin`) to an org whose key managers are lost.
 * - `payreq backup <file>` / `payreq restore <file>`: an online copy of the SQLite database, and
 *   putting one back while no server runs (`src/cli/backup.ts`).
 * - `payreq keys|parties|accounts|requests|events|webhooks …`: talk to a running server through
 *   the SDK (`src/cli/client-commands.ts`; `PAYREQ_URL`, `PAYREQ_API_KEY`, `--json`).
 * Exit codes: 0 success, 1 a refusal or an unreachable server, 2 a usage mistake.
 */
import { Command, InvalidArgumentError } from 'commander';
import { addBackupCommands } from './cli/backup.js';
import { addClientCommands, parseGrant, print } from './cli/client-commands.js';
import type { Config } from './config.js';
import type { Store } from './db/store.js';
import { type Grant, PERMISSIONS } from './domain/grants.js';
import type { Mode } from './domain/payment-request.js';

// The server's modules load only for `serve` and `migrate`: a client command starts fast.
async function serve(): Promise<void> {
  const { loadConfig } = await import('./config.js');
  const { startServer } = await import('./server.js');
  const config = loadConfig();
  const server = await startServer(config);
  if (server.generatedApiKey !== undefined) {
    process.stdout.write(`\nPayreq created an org with a test-mode admin API key (shown once):\n\n  ${server.generatedApiKey}\n\n`);
  }
  server.app.log.info({ url: server.url }, 'payreq listening');
  const shutdown = (signal: string): void => {
    server.app.log.info({ signal }, 'shutting down');
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        // Written synchronously: an asynchronous log line could be lost to process.exit.
        process.stderr.write(`shutdown failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/**
 * `payreq migrate`: on SQLite it takes the file's lock, so it refuses beside a running server
 * (a schema change under a live server) and a server cannot start meanwhile. `--dry-run` lists
 * the pending migrations, one per line (or `none`), runs nothing and takes no lock.
 */
async function migrate(opts: { dryRun?: boolean }): Promise<void> {
  const { loadConfig } = await import('./config.js');
  const { openStore } = await import('./db/store.js');
  const config = loadConfig();
  const store = openStore({ url: config.databaseUrl, poolSize: 1, ...(opts.dryRun === true ? {} : { lock: 'migrate' as const }) });
  try {
    if (opts.dryRun === true) {
      const pending = await store.pendingMigrations();
      process.stdout.write(pending.length === 0 ? 'none\n' : `${pending.join('\n')}\n`);
      return;
    }
    const applied = await store.migrate();
    process.stdout.write(applied.length === 0 ? 'nothing to migrate\n' : `applied: ${applied.join(', ')}\n`);
  } finally {
    await store.close();
  }
}

/** Opens the configured database, migrated, for `fn` (given the configuration too). */
async function withStore<T>(fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('./config.js');
  const { openStore } = await import('./db/store.js');
  const config = loadConfig();
  const store = openStore({ url: config.databaseUrl, poolSize: 1 });
  try {
    await store.migrate();
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

const NO_LIVE_KEY = 'PAYREQ_SECRET_KEY is not set, so no live-mode key was issued: a database holding one needs the master key on every server (README: secrets at rest). Set it here and on the servers, then run `payreq orgs add-key --org <id> --mode live`.';

async function createOrgCommand(opts: { name: string }, command: Command): Promise<void> {
  const { json } = command.optsWithGlobals<{ json?: boolean }>();
  const { createOrg } = await import('./app/api-keys.js');
  const org = await withStore((store, config) => createOrg({ store, clock: Date.now }, opts.name, { live: config.secretKey !== undefined }));
  if (org.liveSecret === undefined) process.stderr.write(`${NO_LIVE_KEY.replace('<id>', org.orgId)}\n`);
  if (json) {
    process.stdout.write(`${JSON.stringify({ id: org.orgId, name: opts.name.trim(), testApiKey: org.testSecret, liveApiKey: org.liveSecret ?? null }, null, 2)}\n`);
    return;
  }
  const live = org.liveSecret === undefined ? '' : `  live: ${org.liveSecret}\n`;
  process.stdout.write(`org ${org.orgId} (${opts.name.trim()})\n\nadmin API keys, shown once:\n  test: ${org.testSecret}\n${live}\nLive-mode keys need PAYREQ_SECRET_KEY on every server of this database (README: secrets at rest).\n`);
}

async function addKeyCommand(opts: { org: string; mode: Mode; grant?: Grant[]; name?: string }, command: Command): Promise<void> {
  const { json } = command.optsWithGlobals<{ json?: boolean }>();
  const { issueOrgKey } = await import('./app/api-keys.js');
  const issued = await withStore((store, config) => {
    if (opts.mode === 'live' && config.secretKey === undefined) {
      throw new CommandRefusal('a live-mode key needs PAYREQ_SECRET_KEY, here and on every server of this database (README: secrets at rest)');
    }
    return issueOrgKey({ store, clock: Date.now }, { orgId: opts.org, mode: opts.mode, grants: opts.grant ?? [{ permission: 'admin' }], name: opts.name ?? (opts.grant === undefined ? 'admin' : undefined) });
  });
  print({ json }, { id: issued.key.id, orgId: issued.key.orgId, mode: issued.key.mode, name: issued.key.name, grants: issued.key.grants, secret: issued.secret }, ['id', 'orgId', 'mode', 'name', 'secret']);
}

/** A refusal to print as `error: <message>` with exit code 1 (no stack: nothing went wrong in the code). */
class CommandRefusal extends Error {}

function parseMode(text: string): Mode {
  if (text !== 'test' && text !== 'live') throw new InvalidArgumentError('test or live');
  return text;
}

/** `--grant` for database commands: a permission of docs/api.md's table, general or scoped. */
function parseDatabaseGrant(text: string, previous: Grant[] = []): Grant[] {
  const grants = parseGrant(text, previous);
  const last = grants[grants.length - 1];
  if (last === undefined || !(PERMISSIONS as readonly string[]).includes(last.permission)) throw new InvalidArgumentError(`"${text}" names no permission; one of ${PERMISSIONS.join(', ')}`);
  return grants as Grant[];
}

async function listOrgsCommand(_opts: unknown, command: Command): Promise<void> {
  const { json } = command.optsWithGlobals<{ json?: boolean }>();
  const { listAllOrgs } = await import('./app/api-keys.js');
  const orgs = await withStore((store) => listAllOrgs({ store }));
  const rows = orgs.map((o) => ({ id: o.id, name: o.name, createdAt: new Date(o.createdAt).toISOString(), testKeys: o.testKeys, liveKeys: o.liveKeys }));
  print({ json }, rows, ['id', 'name', 'createdAt', 'testKeys', 'liveKeys']);
}

const program = new Command('payreq').description('Payreq: payment requests from creation to settlement').showHelpAfterError();
// Usage mistakes exit 2 (commander's own default is 1).
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
});
program.command('serve').description('run the server (configured by PAYREQ_* variables); also what `payreq` alone does').action(serve);
// `payreq` alone serves; an unknown word is an unknown command (exit 2 with the usage).
program.action(serve);
program
  .command('migrate')
  .description('run pending database migrations and exit (on SQLite, refused while a server runs on the file)')
  .option('--dry-run', 'list the pending migrations, one per line (or "none"), without running them')
  .action(migrate);
const orgs = program.command('orgs').description("orgs on the server's database (PAYREQ_DATABASE_URL; no server needed)");
orgs.command('create').description('create an org; prints its test admin API key once, and its live one when PAYREQ_SECRET_KEY is set').requiredOption('--name <name>', "the org's name").action(createOrgCommand);
orgs.command('list').description('list the orgs, with their unrevoked keys per mode').action(listOrgsCommand);
orgs
  .command('add-key')
  .description("issue an API key to an org (the way back in when its key managers are revoked, expired or lost); prints its secret once")
  .requiredOption('--org <id>', "the org's id (payreq orgs list)")
  .requiredOption('--mode <mode>', 'test or live (live needs PAYREQ_SECRET_KEY)', parseMode)
  .option('--grant <grant>', 'a grant: permission, or permission:account:<id> / permission:party:<id> (repeatable; default: admin)', parseDatabaseGrant)
  .option('--name <name>', 'a name to recognize it by (default: admin, for an admin key)')
  .action(addKeyCommand);
addBackupCommands(program);
addClientCommands(program);

// An unknown first word is an unknown command, not an argument of the default (`serve`).
const first = process.argv[2];
if (first !== undefined && !first.startsWith('-') && !program.commands.some((c) => c.name() === first) && first !== 'help') {
  process.stderr.write(`error: unknown command '${first}'\n\n${program.helpInformation()}`);
  process.exit(2);
}
program.parseAsync(process.argv).catch((err: unknown) => {
  // A refusal (the command's own, or a domain rule's) is its message; anything else its stack.
  const refusal = err instanceof CommandRefusal || (err instanceof Error && (err.name === 'DomainError' || err.name === 'DatabaseRefusal'));
  process.stderr.write(`${refusal ? `error: ${err.message}` : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
