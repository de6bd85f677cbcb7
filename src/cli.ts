#!/usr/bin/env node
/**
 * `payreq serve | migrate`.
 * - `serve`: migrate, bootstrap, listen; SIGTERM/SIGINT shut down gracefully.
 * - `migrate`: run pending migrations and exit.
 */
import { loadConfig } from './config.js';
import { openStore } from './db/store.js';
import { startServer } from './server.js';

async function serve(): Promise<void> {
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
  const config = loadConfig();
  const store = openStore({ url: config.databaseUrl, poolSize: 1 });
  try {
    const applied = await store.migrate();
    process.stdout.write(applied.length === 0 ? 'nothing to migrate\n' : `applied: ${applied.join(', ')}\n`);
  } finally {
    await store.close();
  }
}

const command = process.argv[2] ?? 'serve';
const commands: Record<string, () => Promise<void>> = { serve, migrate };
const run = commands[command];
if (!run) {
  process.stderr.write(`usage: payreq <${Object.keys(commands).join('|')}>\n`);
  process.exit(2);
}
run().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
