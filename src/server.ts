/**
 * Starting and stopping a Payreq server: open and migrate the database, bootstrap an empty
 * one, build the app, start the background workers, listen. `close()` stops accepting
 * connections, lets in-flight requests finish, stops the workers and closes the database.
 */
import type { FastifyInstance } from 'fastify';
import { bootstrap } from './app/api-keys.js';
import { Revocations } from './app/revocations.js';
import type { Deps } from './app/deps.js';
import type { Config } from './config.js';
import { CurrencyRegistry } from './domain/currency.js';
import { RateTable } from './domain/rates.js';
import { oldestDueExpiry } from './db/payment-request.repository.js';
import { openStore, type Store } from './db/store.js';
import { countPendingDeliveries } from './db/webhook.repository.js';
import { Metrics } from './app/metrics.js';
import { ChainRegistry } from './rails/evm/chains.js';
import { Redis } from 'ioredis';
import { resealSigningSecrets } from './db/api-key.repository.js';
import { resealIdempotencyResponses } from './db/idempotency.repository.js';
import { resealEndpointSecrets } from './db/webhook.repository.js';
import { buildApp } from './http/app.js';
import { type MasterKey, resolveMasterKey } from './secret-key.js';
import { webhookFormats } from './webhooks/formats.js';
import { type Resolver, systemResolver } from './webhooks/url-guard.js';
import { startChainWatchers } from './workers/chain-watcher.js';
import { startExpirySweeper } from './workers/expiry-sweeper.js';
import { startDispatcher } from './workers/webhook-dispatcher.js';
import type { Worker } from './workers/worker.js';

/** A listening server. `url` is its base URL (`http://127.0.0.1:3000`). */
export interface RunningServer {
  app: FastifyInstance;
  deps: Deps;
  url: string;
  orgId: string;
  /** The admin key generated for an empty database without `PAYREQ_BOOTSTRAP_API_KEY`, else undefined. */
  generatedApiKey: string | undefined;
  close(): Promise<void>;
}

/** Builds the dependencies for a config and an open store. `clock` defaults to `Date.now`. */
export function makeDeps(config: Config, store: Store, publicUrl: string, clock: () => number = Date.now, resolver: Resolver = systemResolver): Deps {
  const currencies = new CurrencyRegistry(config.tokens);
  const metrics = new Metrics();
  metrics.readFrom({
    outboxBacklog: () => countPendingDeliveries(store),
    queriesMade: () => store.queries,
    async expiryLagSeconds() {
      const now = clock();
      const oldest = await oldestDueExpiry(store, now);
      return oldest === undefined ? 0 : (now - oldest) / 1000;
    },
  });
  store.onEventsCommitted((types) => {
    for (const type of types) metrics.events.inc({ type });
  });
  return {
    metrics,
    resolver,
    revocations: new Revocations(),
    store,
    currencies,
    chains: new ChainRegistry(config.chains, currencies),
    rates: new RateTable(config.fxRates),
    settings: {
      minExpirySeconds: config.minExpirySeconds,
      maxExpirySeconds: config.maxExpirySeconds,
      refundWindowSeconds: config.refundWindowSeconds,
      publicUrl,
      webhooks: config.webhooks,
      idempotencyLeaseSeconds: config.idempotencyLeaseSeconds,
      holdRecordedPayments: config.holdRecordedPayments,
    },
    clock,
    webhookFormats: webhookFormats(config.dialects.map(({ dialect }) => dialect.webhookFormats ?? {})),
  };
}

/**
 * Starts a server for `config`. Before anything is served: on SQLite the file's lock (one process
 * per SQLite file, src/db/sqlite-lock.ts), then the migrations, which refuse a database newer than
 * this build (src/db/migrate.ts).
 * @param options.sqliteLock - false to share a SQLite file with another server of this process
 *   (tests that check what another server sees); default true.
 * @throws DatabaseRefusal (src/db/errors.ts) when another process holds the SQLite file, or the
 *   database was migrated by a newer Payreq.
 * @throws Error when the database cannot be opened or migrated, or the port cannot be bound.
 */
export async function startServer(config: Config, options: { clock?: () => number; resolver?: Resolver; sqliteLock?: boolean } = {}): Promise<RunningServer> {
  const store = openStore({ url: config.databaseUrl, poolSize: config.databasePoolSize, durable: config.sqliteSynchronous === 'full', ...(options.sqliteLock === false ? {} : { lock: 'serve' as const }) });
  let masterKey: MasterKey;
  try {
    await store.migrate();
    masterKey = await resolveMasterKey(config, store);
    store.useSecrets(masterKey.box);
    // Secrets stored in plain text (before sealing) or under a previous key are sealed under the current one.
    await store.transaction(async (tx) => (await resealEndpointSecrets(tx)) + (await resealSigningSecrets(tx)) + (await resealIdempotencyResponses(tx)));
  } catch (err) {
    await store.close();
    throw err;
  }
  const deps = makeDeps(config, store, config.publicUrl ?? '', options.clock, options.resolver);
  const { orgId, generatedSecret, bootstrapKeyRetired } = await bootstrap(deps, config.bootstrapApiKey);
  // Rate-limit counters shared through Redis when configured; a Redis outage lets requests through.
  const redis = config.redisUrl === undefined ? undefined : new Redis(config.redisUrl, { connectTimeout: 500, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false });
  redis?.on('error', () => undefined); // reported by the failed calls themselves (skipOnError)
  const app = await buildApp(deps, {
    logLevel: config.logLevel,
    stream: config.sse,
    payPage: { rateLimitPerMinute: config.payPageRateLimitPerMinute },
    rateLimit: { ...config.rateLimit, redis },
    trustProxy: config.trustProxy,
    timeouts: config.connections,
    streamCaps: config.streamCaps,
    dialects: config.dialects,
  });
  // Past this many open sockets Node closes each new one as it arrives (https://nodejs.org/api/net.html#servermaxconnections),
  // so that a flood of idle connections cannot take every file descriptor; 0: no cap.
  if (config.connections.maxConnections > 0) app.server.maxConnections = config.connections.maxConnections;
  if (masterKey.warning !== undefined) app.log.warn(masterKey.warning);
  if (bootstrapKeyRetired === true) app.log.warn('PAYREQ_BOOTSTRAP_API_KEY is a key that was revoked or has expired: it stays so and is not added again; remove the variable');
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  if (config.publicUrl === undefined) deps.settings.publicUrl = url;

  const workers: Worker[] = [
    startExpirySweeper(deps, { intervalMs: config.expirySweepIntervalMs, onError: (err) => app.log.error({ err }, 'expiry sweeper failed') }),
  ];
  if (deps.chains.enabled) {
    workers.push(startChainWatchers(deps, { onError: (err, chain) => app.log.warn({ err, chainId: chain.chainId, network: chain.network }, 'chain watcher tick failed') }));
    app.log.info({ chains: config.chains.map((c) => ({ network: c.network, chainId: c.chainId, confirmations: c.confirmations })) }, 'EVM rail on');
  } else {
    app.log.info('EVM rail off: PAYREQ_CHAINS names no chain, so tokens are not payable on chain');
  }
  if (config.webhooks.concurrency > 0) {
    workers.push(startDispatcher(deps, {
      concurrency: config.webhooks.concurrency,
      pollIntervalMs: config.webhooks.pollIntervalMs,
      onError: (err) => app.log.error({ err }, 'webhook dispatcher failed'),
    }));
  }
  let closing: Promise<void> | undefined;
  return {
    app,
    deps,
    url,
    orgId,
    generatedApiKey: generatedSecret,
    close() {
      closing ??= (async () => {
        await app.close();
        await Promise.all(workers.map((w) => w.stop()));
        await store.close();
        redis?.disconnect();
      })();
      return closing;
    },
  };
}
