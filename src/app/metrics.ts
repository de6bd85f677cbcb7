/**
 * Operational metrics, served at `GET /metrics` in Prometheus' text format with `prom-client`.
 * Each server has its own registry (several servers may share a process in tests).
 *
 * | metric | type | labels | meaning |
 * |---|---|---|---|
 * | `payreq_http_request_duration_seconds` | histogram | `method`, `route`, `status` | HTTP latency per route (the route's pattern, not the URL) |
 * | `payreq_events_total` | counter | `type` | committed events by type: every state change (transition) writes its events |
 * | `payreq_webhook_attempts_total` | counter | `format`, `outcome` | webhook attempts: `delivered`, `retrying`, `failed` (gave up, or 410), `refused` (the URL guard) |
 * | `payreq_webhook_delivery_lag_seconds` | histogram | | from an event's commit to its successful delivery |
 * | `payreq_webhook_outbox_backlog` | gauge | | pending deliveries (read from the database at scrape) |
 * | `payreq_expiry_sweeper_lag_seconds` | gauge | | how long the oldest pending request past its expiry has waited for the sweeper (0 when none) |
 * | `payreq_chain_watcher_lag_blocks` | gauge | `network`, `chain_id` | blocks between the head and the watcher's cursor at the start of its last round |
 * | `payreq_centrapay_key_sets_total` | counter | `source` | Centrapay endpoint key sets (JWKS) answered: `cached`, or `derived` from the sealed keys (a new or changed endpoint) |
 *
 * plus prom-client's default process metrics (`process_*`, `nodejs_*`).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Readings taken from the database when `/metrics` is scraped. */
export interface ScrapeSources {
  /** Pending webhook deliveries. */
  outboxBacklog(): Promise<number>;
  /** Seconds the oldest pending request past its expiry has waited (0 when none). */
  expiryLagSeconds(): Promise<number>;
  /** Statements sent to the database since the store opened. */
  queriesMade(): number;
}

/** The server's metrics. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status'>;
  readonly events: Counter<'type'>;
  readonly webhookAttempts: Counter<'format' | 'outcome'>;
  readonly webhookLag: Histogram;
  readonly chainLag: Gauge<'network' | 'chain_id'>;
  readonly centrapayKeySets: Counter<'source'>;
  private sources: ScrapeSources | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.httpDuration = new Histogram({
      name: 'payreq_http_request_duration_seconds',
      help: 'HTTP request latency by route pattern',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.events = new Counter({ name: 'payreq_events_total', help: 'Committed events by type (each state change writes its events)', labelNames: ['type'], registers });
    this.webhookAttempts = new Counter({ name: 'payreq_webhook_attempts_total', help: 'Webhook attempts by format and outcome', labelNames: ['format', 'outcome'], registers });
    this.webhookLag = new Histogram({
      name: 'payreq_webhook_delivery_lag_seconds',
      help: 'From an event\'s commit to its successful delivery',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
      registers,
    });
    this.chainLag = new Gauge({ name: 'payreq_chain_watcher_lag_blocks', help: 'Blocks between the chain head and the watcher\'s cursor at the start of its last round', labelNames: ['network', 'chain_id'], registers });
    this.centrapayKeySets = new Counter({ name: 'payreq_centrapay_key_sets_total', help: 'Centrapay endpoint key sets (JWKS) answered, by whether cached or derived from the sealed keys', labelNames: ['source'], registers });
    const read = (pick: (s: ScrapeSources) => Promise<number>) => async (gauge: Gauge) => {
      if (this.sources) gauge.set(await pick(this.sources));
    };
    const backlog = read((s) => s.outboxBacklog());
    const expiryLag = read((s) => s.expiryLagSeconds());
    const queries = () => this.sources?.queriesMade() ?? 0;
    new Counter({ name: 'payreq_db_queries_total', help: 'Statements this process sent to the database', registers, collect() { this.reset(); this.inc(queries()); } });
    new Gauge({ name: 'payreq_webhook_outbox_backlog', help: 'Pending webhook deliveries', registers, collect() { return backlog(this); } });
    new Gauge({ name: 'payreq_expiry_sweeper_lag_seconds', help: 'How long the oldest pending request past its expiry has waited for the sweeper', registers, collect() { return expiryLag(this); } });
  }

  /** Gives the scrape-time readings their database (set once the store is open). */
  readFrom(sources: ScrapeSources): void {
    this.sources = sources;
  }
}
