/**
 * Configuration from environment variables, validated with zod. Every variable is documented
 * in the README's configuration table.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { WebhookSettings } from './app/deps.js';
import type { StreamCaps } from './app/event-stream.js';
import type { Token } from './domain/currency.js';
import { parseSecretKey } from './db/secrets.js';
import { DIALECTS } from './dialects/index.js';
import { type ConfiguredDialect, configureDialects } from './http/dialect.js';
import { type ChainConfig, parseChains } from './rails/evm/chains.js';
import { DEFAULT_RETRY_SCHEDULE_SECONDS, parseSchedule } from './webhooks/schedule.js';
import defaultTokens from './data/tokens.json' with { type: 'json' };

const DAY = 86_400;

const envSchema = z.object({
  PAYREQ_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  PAYREQ_HOST: z.string().default('127.0.0.1'),
  PAYREQ_DATABASE_URL: z.string().default('sqlite:./data/payreq.db'),
  PAYREQ_DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  PAYREQ_SQLITE_SYNCHRONOUS: z.enum(['normal', 'full']).default('normal'),
  PAYREQ_BOOTSTRAP_API_KEY: z.string().optional(),
  PAYREQ_PUBLIC_URL: z.url().optional(),
  PAYREQ_MIN_EXPIRY_SECONDS: z.coerce.number().int().min(1).default(60),
  PAYREQ_MAX_EXPIRY_SECONDS: z.coerce.number().int().min(1).default(90 * DAY),
  PAYREQ_REFUND_WINDOW_SECONDS: z.coerce.number().int().min(0).default(30 * DAY),
  PAYREQ_EXPIRY_SWEEP_INTERVAL_MS: z.coerce.number().int().min(10).default(1000),
  PAYREQ_FX_RATES: z.string().default('{}'),
  PAYREQ_TOKEN_LIST: z.string().optional(),
  PAYREQ_CHAINS: z.string().optional(),
  PAYREQ_WEBHOOK_RETRY_SCHEDULE: z.string().optional(),
  PAYREQ_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1).default(15_000),
  PAYREQ_WEBHOOK_DISABLE_AFTER_SECONDS: z.coerce.number().min(0).default(5 * DAY),
  PAYREQ_WEBHOOK_SECRET_OVERLAP_SECONDS: z.coerce.number().min(0).default(DAY),
  PAYREQ_WEBHOOK_ALLOW_LOCAL_IN_TEST: z.enum(['true', 'false']).default('false'),
  PAYREQ_WEBHOOK_ALLOWED_PORTS: z.string().regex(/^\s*\d{1,5}\s*(,\s*\d{1,5}\s*)*$/, 'must be comma-separated port numbers such as 443,8443').default('443,8443'),
  PAYREQ_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(0).max(1000).default(32),
  PAYREQ_WEBHOOK_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(500),
  PAYREQ_IDEMPOTENCY_LEASE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  PAYREQ_HOLD_RECORDED_PAYMENTS: z.enum(['none', 'live', 'all']).default('none'),
  PAYREQ_SECRET_KEY: z.string().optional(),
  PAYREQ_SECRET_KEY_PREVIOUS: z.string().optional(),
  PAYREQ_RATE_LIMIT: z.coerce.number().int().min(0).default(6000),
  PAYREQ_RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  PAYREQ_REDIS_URL: z.string().optional(),
  PAYREQ_AUTH_FAILURE_LIMIT: z.coerce.number().int().min(0).default(100),
  PAYREQ_TRUST_PROXY: z.string().default('false'),
  PAYREQ_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(20_000),
  PAYREQ_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(0).default(60_000),
  PAYREQ_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(72_000),
  PAYREQ_MAX_CONNECTIONS: z.coerce.number().int().min(0).default(20_000),
  PAYREQ_MAX_STREAMS_PER_KEY: z.coerce.number().int().min(0).default(100),
  PAYREQ_MAX_STREAMS_PER_ORG: z.coerce.number().int().min(0).default(1000),
  PAYREQ_PAY_PAGE_MAX_STREAMS_PER_ADDRESS: z.coerce.number().int().min(0).default(100),
  PAYREQ_PAY_PAGE_RATE_LIMIT: z.coerce.number().int().min(1).default(120),
  PAYREQ_SSE_HEARTBEAT_MS: z.coerce.number().int().min(100).default(15_000),
  PAYREQ_SSE_POLL_INTERVAL_MS: z.coerce.number().int().min(10).default(250),
  PAYREQ_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

/** The server's configuration. Durations: `*Seconds` in seconds, `*Ms` in milliseconds. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  /** Largest number of PostgreSQL connections per process. */
  databasePoolSize: number;
  /**
   * SQLite only (`PAYREQ_SQLITE_SYNCHRONOUS`): `normal` (default) survives a crash of the
   * process; `full` also a power loss, answering each write only once it is on disk (group
   * commit: docs/performance.md).
   */
  sqliteSynchronous: 'normal' | 'full';
  bootstrapApiKey: string | undefined;
  /** Base URL for payment links; defaults to `http://{host}:{port}`. */
  publicUrl: string | undefined;
  minExpirySeconds: number;
  maxExpirySeconds: number;
  refundWindowSeconds: number;
  expirySweepIntervalMs: number;
  /** `{"USD/EUR": "0.92"}`: one USD buys 0.92 EUR. */
  fxRates: Record<string, string>;
  tokens: Token[];
  /** The chains the EVM rail watches (`PAYREQ_CHAINS`); empty: the EVM rail is off. */
  chains: ChainConfig[];
  /**
   * The dialects served, each with its own settings, which it read from its `PAYREQ_<NAME>_*`
   * variables (src/dialects/index.ts `DIALECTS`; e.g. `PAYREQ_DELTAPAY_TRANSACTION_TYPES`,
   * `PAYREQ_ALPHAPO_AMOUNT_LIMITS`).
   */
  dialects: readonly ConfiguredDialect[];
  /** How long an `Idempotency-Key` claim is held before a retry may take it over, in seconds (`PAYREQ_IDEMPOTENCY_LEASE_SECONDS`, default 60). */
  idempotencyLeaseSeconds: number;
  /** `PAYREQ_HOLD_RECORDED_PAYMENTS`: in which modes recorded payments wait for `payments:confirm` (Settings.holdRecordedPayments). */
  holdRecordedPayments: 'none' | 'live' | 'all';
  /**
   * Requests per API key (per client address for calls without one) in each window, on the API
   * and the dialects (`PAYREQ_RATE_LIMIT`, default 6000; 0 turns it off), the window in
   * seconds (`PAYREQ_RATE_LIMIT_WINDOW_SECONDS`, default 60), and the failed authentications
   * (401s) a client address may make in that window before it is refused 429 before
   * authentication (`PAYREQ_AUTH_FAILURE_LIMIT`, default 100; 0 turns it off).
   */
  rateLimit: { max: number; windowSeconds: number; authFailures?: number };
  /**
   * Which proxies' `X-Forwarded-For` names the client (`PAYREQ_TRUST_PROXY`, Fastify's
   * `trustProxy`: https://fastify.dev/docs/latest/Reference/Server/#trustproxy): `false`
   * (default: the socket's address is the client), `true` (any peer), or the proxies' addresses
   * and CIDR ranges. The rate limits and stream caps count per the address it yields.
   */
  trustProxy: boolean | string[];
  /**
   * Connection limits of the HTTP server, in ms (Node.js' `http.Server` options:
   * https://nodejs.org/api/http.html#class-httpserver): the whole request line and headers must
   * arrive within `headersTimeoutMs` (`PAYREQ_HEADERS_TIMEOUT_MS`, default 20 s) and the whole
   * request, body included, within `requestTimeoutMs` (`PAYREQ_REQUEST_TIMEOUT_MS`, default 60 s;
   * 0: none; it does not cut a response such as a live stream); an idle keep-alive connection
   * closes after `keepAliveTimeoutMs` (`PAYREQ_KEEP_ALIVE_TIMEOUT_MS`, default 72 s); at most
   * `maxConnections` sockets are open at once (`PAYREQ_MAX_CONNECTIONS`, default 20,000; 0: no
   * cap), and further ones are closed as they arrive.
   */
  connections: { headersTimeoutMs: number; requestTimeoutMs: number; keepAliveTimeoutMs: number; maxConnections: number };
  /**
   * Live streams open at once in this process (each cap 0: none): per API key
   * (`PAYREQ_MAX_STREAMS_PER_KEY`, default 100) and per org (`PAYREQ_MAX_STREAMS_PER_ORG`,
   * default 1000) on `/v1/events/stream`, and per client address on `/pay/{code}/events`
   * (`PAYREQ_PAY_PAGE_MAX_STREAMS_PER_ADDRESS`, default 100: payers behind one NAT share an address).
   */
  streamCaps: StreamCaps;
  /**
   * The master key sealing secrets at rest (`PAYREQ_SECRET_KEY`, 64 hex characters), and the
   * keys it replaced, still opening what they sealed until the server reseals it at start
   * (`PAYREQ_SECRET_KEY_PREVIOUS`, comma-separated). Without a key: refused when the database
   * holds live-mode keys; in test mode a generated one kept beside the database (src/secret-key.ts).
   */
  secretKey: Buffer | undefined;
  previousSecretKeys: Buffer[];
  /** Redis, to share rate-limit counters between processes (`PAYREQ_REDIS_URL`); unset: each process counts alone. */
  redisUrl: string | undefined;
  /** Requests per minute per client address on the pay page's routes (`PAYREQ_PAY_PAGE_RATE_LIMIT`). */
  payPageRateLimitPerMinute: number;
  logLevel: string;
  webhooks: WebhookSettings & {
    /** Deliveries in flight per process; 0 runs no dispatcher here (an API-only process, when others deliver). */
    concurrency: number;
    /** How often a dispatcher looks for due deliveries made by other processes, in ms. */
    pollIntervalMs: number;
  };
  /** Live event stream: heartbeat and database poll intervals, in ms. */
  sse: { heartbeatMs: number; pollIntervalMs: number };
}

/**
 * Reads the configuration from `env`, each dialect's settings included (by the dialect).
 * @throws Error naming every invalid variable (a dialect's: the first invalid one).
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  if (e.PAYREQ_MIN_EXPIRY_SECONDS > e.PAYREQ_MAX_EXPIRY_SECONDS) throw new Error('invalid configuration: PAYREQ_MIN_EXPIRY_SECONDS exceeds PAYREQ_MAX_EXPIRY_SECONDS');
  const rates = z.record(z.string(), z.string()).safeParse(safeJson(e.PAYREQ_FX_RATES));
  if (!rates.success) throw new Error('invalid configuration: PAYREQ_FX_RATES must be a JSON object such as {"USD/EUR": "0.92"}');
  const tokens = e.PAYREQ_TOKEN_LIST === undefined ? (defaultTokens as Token[]) : (JSON.parse(readFileSync(e.PAYREQ_TOKEN_LIST, 'utf8')) as Token[]);
  return {
    port: e.PAYREQ_PORT,
    host: e.PAYREQ_HOST,
    databaseUrl: e.PAYREQ_DATABASE_URL,
    databasePoolSize: e.PAYREQ_DATABASE_POOL_SIZE,
    sqliteSynchronous: e.PAYREQ_SQLITE_SYNCHRONOUS,
    bootstrapApiKey: e.PAYREQ_BOOTSTRAP_API_KEY,
    publicUrl: e.PAYREQ_PUBLIC_URL,
    minExpirySeconds: e.PAYREQ_MIN_EXPIRY_SECONDS,
    maxExpirySeconds: e.PAYREQ_MAX_EXPIRY_SECONDS,
    refundWindowSeconds: e.PAYREQ_REFUND_WINDOW_SECONDS,
    expirySweepIntervalMs: e.PAYREQ_EXPIRY_SWEEP_INTERVAL_MS,
    fxRates: rates.data,
    tokens,
    chains: parseChains(e.PAYREQ_CHAINS, (path) => readFileSync(path, 'utf8')),
    dialects: configureDialects(DIALECTS, env),
    idempotencyLeaseSeconds: e.PAYREQ_IDEMPOTENCY_LEASE_SECONDS,
    holdRecordedPayments: e.PAYREQ_HOLD_RECORDED_PAYMENTS,
    secretKey: e.PAYREQ_SECRET_KEY === undefined || e.PAYREQ_SECRET_KEY.trim() === '' ? undefined : parseSecretKey(e.PAYREQ_SECRET_KEY),
    previousSecretKeys: (e.PAYREQ_SECRET_KEY_PREVIOUS ?? '').split(',').map((k) => k.trim()).filter((k) => k !== '').map((k) => parseSecretKey(k, 'each key of PAYREQ_SECRET_KEY_PREVIOUS')),
    rateLimit: { max: e.PAYREQ_RATE_LIMIT, windowSeconds: e.PAYREQ_RATE_LIMIT_WINDOW_SECONDS, authFailures: e.PAYREQ_AUTH_FAILURE_LIMIT },
    trustProxy: parseTrustProxy(e.PAYREQ_TRUST_PROXY),
    connections: { headersTimeoutMs: e.PAYREQ_HEADERS_TIMEOUT_MS, requestTimeoutMs: e.PAYREQ_REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: e.PAYREQ_KEEP_ALIVE_TIMEOUT_MS, maxConnections: e.PAYREQ_MAX_CONNECTIONS },
    streamCaps: { perKey: e.PAYREQ_MAX_STREAMS_PER_KEY, perOrg: e.PAYREQ_MAX_STREAMS_PER_ORG, perAddress: e.PAYREQ_PAY_PAGE_MAX_STREAMS_PER_ADDRESS },
    redisUrl: e.PAYREQ_REDIS_URL === '' ? undefined : e.PAYREQ_REDIS_URL,
    payPageRateLimitPerMinute: e.PAYREQ_PAY_PAGE_RATE_LIMIT,
    logLevel: e.PAYREQ_LOG_LEVEL,
    webhooks: {
      retrySchedule: e.PAYREQ_WEBHOOK_RETRY_SCHEDULE === undefined ? [...DEFAULT_RETRY_SCHEDULE_SECONDS] : parseSchedule(e.PAYREQ_WEBHOOK_RETRY_SCHEDULE),
      timeoutMs: e.PAYREQ_WEBHOOK_TIMEOUT_MS,
      disableAfterSeconds: e.PAYREQ_WEBHOOK_DISABLE_AFTER_SECONDS,
      secretOverlapSeconds: e.PAYREQ_WEBHOOK_SECRET_OVERLAP_SECONDS,
      allowLocalInTest: e.PAYREQ_WEBHOOK_ALLOW_LOCAL_IN_TEST === 'true',
      allowedPorts: parsePorts(e.PAYREQ_WEBHOOK_ALLOWED_PORTS),
      concurrency: e.PAYREQ_WEBHOOK_CONCURRENCY,
      pollIntervalMs: e.PAYREQ_WEBHOOK_POLL_INTERVAL_MS,
    },
    sse: { heartbeatMs: e.PAYREQ_SSE_HEARTBEAT_MS, pollIntervalMs: e.PAYREQ_SSE_POLL_INTERVAL_MS },
  };
}

/**
 * `PAYREQ_TRUST_PROXY` as Fastify's `trustProxy` takes it (https://fastify.dev/docs/latest/Reference/Server/#trustproxy):
 * `true` (trust every peer's `X-Forwarded-For`: only when no client can reach the server but
 * through the proxy), `false` (default), or a comma-separated list of the proxies' addresses and
 * CIDR ranges (`127.0.0.1,10.0.0.0/8`, or proxy-addr's names `loopback`, `linklocal`, `uniquelocal`).
 * A hop count is refused: Fastify 5 trusts no peer for one (it cannot check the nearest hop),
 * so it would silently count every payer as the proxy.
 * @throws Error for a hop count or an empty entry in the list.
 */
export function parseTrustProxy(text: string): boolean | string[] {
  const value = text.trim();
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  const list = value.split(',').map((a) => a.trim());
  if (/^[0-9]+$/.test(value) || list.some((a) => a === '')) throw new Error('invalid configuration: PAYREQ_TRUST_PROXY must be true, false, or the proxies\' addresses and CIDR ranges, comma-separated (a hop count is not accepted: Fastify would trust no proxy for it)');
  return list;
}

/** `PAYREQ_WEBHOOK_ALLOWED_PORTS`: comma-separated TCP ports, each 1 to 65535. */
function parsePorts(text: string): number[] {
  const ports = text.split(',').map((p) => Number(p.trim()));
  if (ports.some((p) => p < 1 || p > 65535)) throw new Error('invalid configuration: PAYREQ_WEBHOOK_ALLOWED_PORTS must list ports from 1 to 65535');
  return [...new Set(ports)];
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
