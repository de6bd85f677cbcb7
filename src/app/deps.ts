/**
 * What every use case needs, passed in (never imported as globals): the store, the currency
 * registry, the rate table, the clock, the settings, and the process's count of key revocations
 * that its auth caches share.
 */
import type { CurrencyRegistry } from '../domain/currency.js';
import type { Grant } from '../domain/grants.js';
import type { Mode } from '../domain/payment-request.js';
import type { RateTable } from '../domain/rates.js';
import type { Store } from '../db/store.js';
import type { Revocations } from './revocations.js';
import type { ChainRegistry } from '../rails/evm/chains.js';
import type { Metrics } from './metrics.js';
import type { WebhookFormats } from '../webhooks/formats.js';
import type { Resolver } from '../webhooks/url-guard.js';

/** Settings the use cases read. Durations are in seconds. */
export interface Settings {
  /** Shortest lifetime a payment request may have (default 60 s). */
  minExpirySeconds: number;
  /** Longest lifetime a payment request may have (default 90 days). */
  maxExpirySeconds: number;
  /** How long after `paidAt` refunds are accepted (default 30 days). */
  refundWindowSeconds: number;
  /** The base URL of this server as payers reach it; `paymentLink` is `${publicUrl}/pay/${code}`. */
  publicUrl: string;
  /** Webhook delivery settings (see `docs/webhooks.md`). */
  webhooks: WebhookSettings;
  /**
   * How long an `Idempotency-Key` claim is held by its attempt, in seconds (default 60): a retry
   * within it answers 409 with `Retry-After`; after it, a claim whose attempt never answered (its
   * process died) is taken over and the request runs afresh (src/http/idempotency.ts).
   */
  idempotencyLeaseSeconds: number;
  /**
   * In which modes a payment recorded with `payments:record` is held, unspendable, until a key
   * with `payments:confirm` confirms it (`PAYREQ_HOLD_RECORDED_PAYMENTS`: `none`, `live` or
   * `all`; docs/api.md, "External payments"). Recording money is minting it: an org that gives
   * merchants `payments:record` keeps their recorded money out of the ledger until it checked it.
   */
  holdRecordedPayments: 'none' | 'live' | 'all';
}

/** Webhook delivery settings. */
export interface WebhookSettings {
  /** Delays in seconds: entry n is the wait before attempt n + 1 (Standard Webhooks' schedule by default). */
  retrySchedule: number[];
  /** One attempt's limit, in milliseconds (default 15 000). */
  timeoutMs: number;
  /** An endpoint failing for this long without a success is disabled (default 5 days). */
  disableAfterSeconds: number;
  /** After a rotation, how long the old secret still signs (default 24 hours). */
  secretOverlapSeconds: number;
  /**
   * Whether test-mode endpoints may use http and loopback addresses (`PAYREQ_WEBHOOK_ALLOW_LOCAL_IN_TEST`,
   * default false), for a receiver on a developer's machine. Never private or link-local ones; live mode never may.
   */
  allowLocalInTest: boolean;
  /** The ports a live-mode endpoint may use (`PAYREQ_WEBHOOK_ALLOWED_PORTS`, default 443 and 8443). */
  allowedPorts: number[];
}

/** The use cases' dependencies. `clock()` returns epoch milliseconds. */
export interface Deps {
  store: Store;
  currencies: CurrencyRegistry;
  rates: RateTable;
  /** The chains the EVM rail watches and which currencies are payable on them. */
  chains: ChainRegistry;
  settings: Settings;
  clock: () => number;
  /**
   * This process's count of API key revocations, which every auth cache of the process reads, so
   * that a key revoked here stops authenticating at once in every scope (src/app/revocations.ts).
   */
  revocations: Revocations;
  /** Resolves webhook hosts (the system resolver by default; tests may give their own). */
  resolver: Resolver;
  /** The server's Prometheus metrics (`GET /metrics`). */
  metrics: Metrics;
  /** The webhook formats endpoints may take: `standard` and the dialects' (src/webhooks/formats.ts `webhookFormats`). */
  webhookFormats: WebhookFormats;
}

/** Who is calling: the authenticated API key, its org, mode and grants. */
export interface Principal {
  keyId: string;
  orgId: string;
  mode: Mode;
  grants: Grant[];
}
