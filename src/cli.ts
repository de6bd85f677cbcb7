#!/usr/bin/env node
/**
 * The `payreq` command (commander):
 * - `payreq serve` (the default): migrate, bootstrap, listen; SIGTERM/SIGINT shut down gracefully.
 * - `payreq migrate`: run pending migrations and exit.
 * - `payreq orgs create --name …` / `payreq orgs list`: orgs on the database that
 *   `PAYREQ_DATABASE_URL` names (run where the server runs; no server needed). `create` prints
 *   the new org's test and live admin keys once.
 * - `payreq keys|parties|accounts|requests|events|webhooks …`: talk to a running server through
 *   the SDK (`src/cli/client-commands.ts`; `PAYREQ_URL`, `PAYREQ_API_KEY`, `--json`).
 * Exit codes: 0 success, 1 a refusal or an unreachable server, 2 a usage mistake.
 */
import { Command } from 'commander';
import { addClientCommands, print } from './cli/client-commands.js';
import type { Store } from './db/store.js';

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

async function migrate(): Promise<void> {
  const { loadConfig } = await import('./config.js');
  const { openStore } = await import('./db/store.js');
  const config = loadConfig();
  const store = openStore({ url: config.databaseUrl, poolSize: 1 });
  try {
    const applied = await store.migrate();
    process.stdout.write(applied.length === 0 ? 'nothing to migrate\n' : `applied: ${applied.join(', ')}\n`);
  } finally {
    await store.close();
  }
}

/** Opens the configured database, migrated, for `fn`. */
async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('./config.js');
  const { openStore } = await import('./db/store.js');
  const config = loadConfig();
  const store = openStore({ url: config.databaseUrl, poolSize: 1 });
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

async function createOrgCommand(opts: { name: string }, command: Command): Promise<void> {
  const { json } = command.optsWithGlobals<{ json?: boolean }>();
  const { createOrg } = await import('./app/api-keys.js');
  const org = await withStore((store) => createOrg({ store, clock: Date.now }, opts.name));
  if (json) {
    process.stdout.write(`${JSON.stringify({ id: org.orgId, name: opts.name.trim(), testApiKey: org.testSecret, liveApiKey: org.liveSecret }, null, 2)}\n`);
    return;
  }
  process.stdout.write(`org ${org.orgId} (${opts.name.trim()})\n\nadmin API keys, shown once:\n  test: ${org.testSecret}\n  live: ${org.liveSecret}\n\nLive-mode keys need PAYREQ_SECRET_KEY on every server of this database (README: secrets at rest).\n`);
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
program.command('migrate').description('run pending database migrations and exit').action(migrate);
const orgs = program.command('orgs').description("orgs on the server's database (PAYREQ_DATABASE_URL; no server needed)");
orgs.command('create').description('create an org; prints its test and live admin API keys once').requiredOption('--name <name>', "the org's name").action(createOrgCommand);
orgs.command('list').description('list the orgs, with their unrevoked keys per mode').action(listOrgsCommand);
addClientCommands(program);

// An unknown first word is an unknown command, not an argument of the default (`serve`).
const first = process.argv[2];
if (first !== undefined && !first.startsWith('-') && !program.commands.some((c) => c.name() === first) && first !== 'help') {
  process.stderr.write(`error: unknown command '${first}'\n\n${program.helpInformation()}`);
  process.exit(2);
}
program.parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
