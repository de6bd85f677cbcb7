#!/usr/bin/env node
/**
 * The `payreq` command (commander):
 * - `payreq serve` (the default): migrate, bootstrap, listen; SIGTERM/SIGINT shut down gracefully.
 * - `payreq migrate`: run pending migrations and exit.
 * - `payreq keys|parties|accounts|requests|events|webhooks …`: talk to a running server through
 *   the SDK (`src/cli/client-commands.ts`; `PAYREQ_URL`, `PAYREQ_API_KEY`, `--json`).
 * Exit codes: 0 success, 1 a refusal or an unreachable server, 2 a usage mistake.
 */
import { Command } from 'commander';
import { addClientCommands } from './cli/client-commands.js';

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

const program = new Command('payreq').description('Payreq: payment requests from creation to settlement').showHelpAfterError();
// Usage mistakes exit 2 (commander's own default is 1).
program.exitOverride((err) => {
  process.exit(err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
});
program.command('serve').description('run the server (configured by PAYREQ_* variables); also what `payreq` alone does').action(serve);
// `payreq` alone serves; an unknown word is an unknown command (exit 2 with the usage).
program.action(serve);
program.command('migrate').description('run pending database migrations and exit').action(migrate);
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
