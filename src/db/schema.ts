/**
 * Row types for every table (docs/design.md#storage): `*Table` interfaces with `Generated<>` where the
 * database fills a column, and `Selectable`/`Insertable` aliases. Amount columns hold decimal
 * strings of minor units (`TEXT` on SQLite, `NUMERIC(78,0)` on PostgreSQL); times are epoch
 * milliseconds; JSON columns hold serialized text.
 */
import type { Generated, Insertable, Selectable } from 'kysely';

/** The tenant. */
export interface OrgTable {
  id: string;
  name: string;
  created_at: number;
}

/** An API key: only the SHA-256 of the secret is stored. `grants` is JSON `Grant[]`. */
export interface ApiKeyTable {
  id: string;
  org_id: string;
  mode: string;
  name: string | null;
  prefix: string;
  secret_hash: string;
  grants: string;
  created_by: string | null;
  created_at: number;
  revoked_at: number | null;
  /** AlphaPo's secret key: the HMAC-SHA512 key of `X-Processing-Signature`; null when the key has none. */
  signing_secret: string | null;
  /** Epoch ms after which the key no longer authenticates; null: it does not expire. */
  expires_at: number | null;
  /** Epoch ms of the key's last authentication, to within {@link AUTH_CACHE_TTL_MS}; null: never used. */
  last_used_at: number | null;
}

/** A party: `type` is `user` or `legal_entity`. `merchant` is JSON. */
export interface PartyTable {
  id: string;
  org_id: string;
  mode: string;
  type: string;
  username: string | null;
  phone: string | null;
  email: string | null;
  name: string | null;
  merchant: string | null;
  /** Per org and mode, from 1: the integer id the dialects speak in. */
  number: number | null;
  created_at: number;
}

/** A ledger account. `system_purpose` is set for system accounts (which may go negative). */
export interface AccountTable {
  id: string;
  org_id: string;
  mode: string;
  party_id: string | null;
  currency: string;
  balance: string;
  status: string;
  system_purpose: string | null;
  /** Set on a wallet account: the payee's own EVM address, checksummed (EIP-55). */
  address: string | null;
  /** Per org and mode, from 1, for party accounts (null on system accounts). */
  number: number | null;
  created_at: number;
  updated_at: number;
}

/** One balanced movement of money: the entries that share its id sum to zero per currency. */
export interface LedgerTransferTable {
  id: string;
  org_id: string;
  mode: string;
  kind: string;
  payment_request_id: string | null;
  created_at: number;
}

/** One leg of a transfer: `amount` is signed minor units (credit positive). */
export interface LedgerEntryTable {
  id: string;
  transfer_id: string;
  org_id: string;
  mode: string;
  account_id: string;
  currency: string;
  amount: string;
  created_at: number;
}

/** The payment request row. JSON columns: payment_options, metadata, dialect_data, line_items, customer, redirect_urls, merchant. */
export interface PaymentRequestTable {
  id: string;
  org_id: string;
  mode: string;
  status: string;
  amount: string;
  currency: string;
  payee_account_id: string;
  payee_party_id: string;
  payer_account_id: string | null;
  payer_party_id: string | null;
  payment_options: string;
  expires_at: number;
  description: string | null;
  metadata: string | null;
  /** JSON DialectData (src/domain/payment-request.ts): the dialects' own fields, keyed by dialect name; never shown on /v1. */
  dialect_data: string | null;
  external_id: string | null;
  line_items: string | null;
  customer: string | null;
  redirect_urls: string | null;
  merchant: string | null;
  patron_code_id: string | null;
  transaction_type: string | null;
  till_id: string | null;
  amount_paid: string;
  amount_refunded: string;
  paid_at: number | null;
  failure_reason: string | null;
  code: string;
  payment_reference: string;
  salt: string;
  sequence: number;
  status_cause: string | null;
  status_actor: string | null;
  /** Per org and mode, from 1: the integer id the dialects speak in. */
  number: number | null;
  /** JSON {@link PartiesOfRequest}: payee and payer as they were at creation. */
  parties: string | null;
  created_at: number;
  updated_at: number;
}

/** Money received against a request. `applied_amount` is in the request's currency; `status` is `applied` or `requires_refund`. */
export interface PaymentTable {
  id: string;
  org_id: string;
  mode: string;
  payment_request_id: string;
  rail: string;
  currency: string;
  amount: string;
  applied_amount: string;
  amount_refunded: string;
  reference: string;
  payer_account_id: string | null;
  status: string;
  /** JSON of the on-chain details of an `evm` payment (chain, transaction, log, sender, fee); null on other rails. */
  chain: string | null;
  created_at: number;
}

/** Money returned against a paid request, in the request's currency. */
export interface RefundTable {
  id: string;
  org_id: string;
  mode: string;
  payment_request_id: string;
  amount: string;
  reason: string | null;
  created_by: string | null;
  created_at: number;
  /** The caller's reference (Centrapay's `externalRef`), unique per request: a repeat answers the first refund. */
  reference: string | null;
}

/** An immutable event, written in the same transaction as the change it records. `data` is JSON. */
export interface EventTable {
  id: string;
  org_id: string;
  mode: string;
  payment_request_id: string | null;
  type: string;
  sequence: number;
  data: string;
  created_at: number;
}

/**
 * A stored response for an `Idempotency-Key` (`state` is `in_progress` or `done`), one per API
 * key that sent it. `response_body` is sealed (src/db/idempotency.repository.ts).
 */
export interface IdempotencyKeyTable {
  org_id: string;
  mode: string;
  /** The API key that sent the `Idempotency-Key`: only its retries see the answer. */
  api_key_id: string;
  key: string;
  request_hash: string;
  state: string;
  response_status: number | null;
  response_body: string | null;
  created_at: number;
  /** The token of the attempt holding an `in_progress` claim; null once done. */
  claim_token: string | null;
  /** Epoch ms until which an `in_progress` claim is held; after it, a retry may take the key over. */
  locked_until: number | null;
}

/**
 * An AlphaPo `X-Processing-Signature` that created a payment request, kept 24 hours so that the
 * same signed body sent again is refused (docs/dialects/alphapo.md, "Replays").
 */
export interface AlphaPoSignatureTable {
  /** SHA-256 hex of the API key id and the signature: the signature itself is not kept. */
  digest: string;
  org_id: string;
  mode: string;
  /** Epoch ms. */
  created_at: number;
}

/** A webhook endpoint. `enabled_events` is JSON `string[]` (`["*"]` for all); `disabled` is 0 or 1. */
export interface WebhookEndpointTable {
  id: string;
  org_id: string;
  mode: string;
  url: string;
  description: string | null;
  enabled_events: string;
  disabled: number;
  disabled_reason: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: number | null;
  failing_since: number | null;
  /** `standard` (Standard Webhooks) or a provider's format such as `request-network`. */
  format: Generated<string>;
  /** When set, the endpoint only takes events of payment requests into this account. */
  account_id: string | null;
  deleted_at: number | null;
  created_at: number;
  updated_at: number;
}

/**
 * One event to one endpoint: the outbox row the dispatcher claims. `status` is `pending`,
 * `succeeded` or `failed` (gave up); `claimed_by`/`claimed_until` are the lease of the process
 * attempting it.
 */
export interface WebhookDeliveryTable {
  id: string;
  org_id: string;
  mode: string;
  event_id: string;
  /** The event's payment request and sequence (null for other events): deliveries of one request go out in order. */
  payment_request_id: string | null;
  sequence: number | null;
  endpoint_id: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  claimed_by: string | null;
  claimed_until: number | null;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: number | null;
  created_at: number;
  updated_at: number;
}

/** One HTTP attempt of a delivery: status code, duration, error, first 1 KiB of the response. */
export interface WebhookAttemptTable {
  id: string;
  delivery_id: string;
  endpoint_id: string;
  attempt: number;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_body: string | null;
  created_at: number;
  /** The token of the attempt holding an `in_progress` claim; null once done. */
  claim_token: string | null;
  /** Epoch ms until which an `in_progress` claim is held; after it, a retry may take the key over. */
  locked_until: number | null;
}

/**
 * One on-chain payment option of a payment request: its payment reference (16 hex characters)
 * and `topic`, the keccak256 of the reference's 8 bytes that the proxy's log carries in
 * `topics[1]`, indexed by chain for the watcher. Addresses are lower case. `kind` is `erc20`
 * (ERC20FeeProxy) or `native` (EthereumFeeProxy).
 */
export interface ChainReferenceTable {
  id: string;
  org_id: string;
  mode: string;
  payment_request_id: string;
  currency: string;
  chain_id: number;
  kind: string;
  proxy_address: string;
  token_address: string;
  to_address: string;
  reference: string;
  topic: string;
  /** When a pay call first asked for this reference's transactions (Request Network's `isListening`). */
  listening_since: number | null;
  created_at: number;
}

/** A chain watcher's cursor (the last block scanned) and lease (which process watches, until when). */
export interface ChainCursorTable {
  chain_id: number;
  network: string;
  last_scanned: number | null;
  lease_holder: string | null;
  lease_until: number | null;
  updated_at: number;
}

/** The hash of a block the watcher scanned, kept within the reorg window. */
export interface ChainBlockTable {
  chain_id: number;
  number: number;
  hash: string;
}

/**
 * A matching `TransferWithReferenceAndFee` log: `seen` until it is `confirmations` deep, then
 * `recorded` (with its payment), or `ignored` (wrong token or payee address), or `reverted`
 * (removed by a reorg after it was recorded). Amounts are token base units.
 */
export interface ChainLogTable {
  id: string;
  chain_id: number;
  tx_hash: string;
  log_index: number;
  block_number: number;
  block_hash: string;
  reference_id: string;
  from_address: string | null;
  token_address: string;
  to_address: string;
  amount: string;
  fee_amount: string;
  fee_address: string;
  status: string;
  payment_id: string | null;
  created_at: number;
  updated_at: number;
}

/** The last integer `number` handed out per org, mode and kind (`party`, `account`, `payment_request`). */
export interface NumberCounterTable {
  org_id: string;
  mode: string;
  kind: string;
  last: number;
}

/** A merchant configuration: the account that receives and the asset types accepted (JSON string array). */
export interface MerchantConfigTable {
  id: string;
  org_id: string;
  mode: string;
  name: string;
  payee_account_id: string;
  asset_types: string;
  created_at: number;
}

/** A payer party's patron code: requests created with it are attached to the party. */
export interface PatronCodeTable {
  id: string;
  org_id: string;
  mode: string;
  party_id: string;
  created_at: number;
}

/** The whole database as Kysely sees it. */
export interface Database {
  orgs: OrgTable;
  api_keys: ApiKeyTable;
  parties: PartyTable;
  accounts: AccountTable;
  ledger_transfers: LedgerTransferTable;
  ledger_entries: LedgerEntryTable;
  payment_requests: PaymentRequestTable;
  payments: PaymentTable;
  refunds: RefundTable;
  events: EventTable;
  idempotency_keys: IdempotencyKeyTable;
  alphapo_signatures: AlphaPoSignatureTable;
  webhook_endpoints: WebhookEndpointTable;
  webhook_deliveries: WebhookDeliveryTable;
  webhook_attempts: WebhookAttemptTable;
  chain_references: ChainReferenceTable;
  chain_cursors: ChainCursorTable;
  chain_blocks: ChainBlockTable;
  chain_logs: ChainLogTable;
  number_counters: NumberCounterTable;
  merchant_configs: MerchantConfigTable;
  patron_codes: PatronCodeTable;
}

export type PaymentRequestRow = Selectable<PaymentRequestTable>;
export type NewPaymentRequestRow = Insertable<PaymentRequestTable>;
export type AccountRow = Selectable<AccountTable>;
export type PartyRow = Selectable<PartyTable>;
export type ApiKeyRow = Selectable<ApiKeyTable>;
export type EventRow = Selectable<EventTable>;
export type PaymentRow = Selectable<PaymentTable>;
export type RefundRow = Selectable<RefundTable>;
export type WebhookEndpointRow = Selectable<WebhookEndpointTable>;
export type WebhookDeliveryRow = Selectable<WebhookDeliveryTable>;
export type WebhookAttemptRow = Selectable<WebhookAttemptTable>;
export type ChainReferenceRow = Selectable<ChainReferenceTable>;
export type ChainLogRow = Selectable<ChainLogTable>;
export type MerchantConfigRow = Selectable<MerchantConfigTable>;
export type PatronCodeRow = Selectable<PatronCodeTable>;
export type NewWebhookDeliveryRow = Insertable<WebhookDeliveryTable>;
export type NewWebhookAttemptRow = Insertable<WebhookAttemptTable>;
export type NewEventRow = Insertable<EventTable>;
export type NewPaymentRow = Insertable<PaymentTable>;
export type NewLedgerTransferRow = Insertable<LedgerTransferTable>;
export type NewLedgerEntryRow = Insertable<LedgerEntryTable>;
