/**
 * `npm run sdk:generate`: starts a server on a throwaway SQLite file, reads its `/openapi.json`
 * and writes the SDK's types (`sdk/src/openapi.ts`) with openapi-typescript.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSecret } from '../src/app/api-keys.js';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { SDK_TYPES_PATH, sdkTypesSource } from './lib/sdk-types.js';

const dir = mkdtempSync(join(tmpdir(), 'payreq-sdk-'));
const server = await startServer({ ...loadConfig({}), port: 0, databaseUrl: `sqlite:${join(dir, 'payreq.db')}`, bootstrapApiKey: generateSecret('test'), logLevel: 'silent', webhooks: { ...loadConfig({}).webhooks, concurrency: 0 } });
try {
  const document = (await (await fetch(`${server.url}/openapi.json`)).json()) as object;
  writeFileSync(SDK_TYPES_PATH, await sdkTypesSource(document));
  process.stdout.write(`wrote ${SDK_TYPES_PATH}\n`);
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
