/**
 * A real Payreq server for tests: in-process, on a real port (0 = any free one), over a fresh
 * database of the run's engine (a SQLite file or a PostgreSQL schema), with a controllable clock.
 */
import { TEST_SECRET_KEY } from '../../scripts/lib/process.js';
import { generateSecret } from '../../src/app/api-keys.js';
import { type Config, loadConfig } from '../../src/config.js';
import { type RunningServer, startServer } from '../../src/server.js';
import type { Resolver } from '../../src/webhooks/url-guard.js';
import { Client } from './client.js';
import { type TestDatabase, testDatabase } from './database.js';

/** A clock tests can move: `now()` is epoch ms, `advance(ms)` moves it forward. */
export interface TestClock {
  now: () => number;
  advance: (ms: number) => void;
}

/** A clock that follows real time plus whatever the test advanced it by. */
export function testClock(): TestClock {
  let offset = 0;
  return { now: () => Date.now() + offset, advance: (ms) => void (offset += ms) };
}

/** A running test server with an admin client. */
export interface TestServer {
  server: RunningServer;
  url: string;
  adminKey: string;
  admin: Client;
  clock: TestClock;
  database: TestDatabase;
  /** A client for another key. */
  client(key: string): Client;
  close(): Promise<void>;
}

/**
 * Fast webhook settings for tests: retries in fractions of a second, and test mode's local opt-in
 * on, so that test-mode endpoints may point at the tests' receivers on 127.0.0.1.
 */
export const FAST_WEBHOOKS: Config['webhooks'] = {
  retrySchedule: [0, 0.2, 0.4, 0.8],
  timeoutMs: 1000,
  disableAfterSeconds: 3600,
  secretOverlapSeconds: 3600,
  allowLocalInTest: true,
  allowedPorts: [443, 8443],
  concurrency: 16,
  pollIntervalMs: 50,
};

/**
 * Starts a server; `overrides` replace config values (e.g. `fxRates`, `refundWindowSeconds`);
 * `resolver` replaces DNS for webhook hosts. With `database` (and `adminKey`) it starts on an
 * existing database, as a restart would, and `close()` leaves that database in place.
 */
export async function startTestServer(overrides: Partial<Config> = {}, options: { resolver?: Resolver; database?: TestDatabase; adminKey?: string } = {}): Promise<TestServer> {
  const database = options.database ?? testDatabase();
  const adminKey = options.adminKey ?? generateSecret('test');
  const config: Config = {
    ...loadConfig({}),
    port: 0,
    databaseUrl: database.url,
    databasePoolSize: 5,
    bootstrapApiKey: adminKey,
    logLevel: 'silent',
    expirySweepIntervalMs: 50,
    webhooks: FAST_WEBHOOKS,
    sse: { heartbeatMs: 200, pollIntervalMs: 50 },
    secretKey: Buffer.from(TEST_SECRET_KEY, 'hex'),
    ...overrides,
  };
  const clock = testClock();
  // No SQLite lock: tests start a second server on one file to check what another process sees
  // (the lock itself is tested with real processes, test/cli/one-process.test.ts).
  const server = await startServer(config, { clock: clock.now, sqliteLock: false, ...(options.resolver ? { resolver: options.resolver } : {}) });
  return {
    server,
    url: server.url,
    adminKey,
    admin: new Client(server.url, adminKey),
    clock,
    database,
    client: (key) => new Client(server.url, key),
    async close() {
      await server.close();
      if (!options.database) await database.drop();
    },
  };
}
