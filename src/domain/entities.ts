/**
 * The records the use cases work with, as the repositories in `src/db/` read and write them:
 * amounts are bigint minor units (a payment option's token in base units), times epoch ms. The
 * API's JSON of each (decimal strings, RFC 3339 times) is `src/contract/v1/`, built by the
 * presenters in `src/app/present.ts`. The payment request itself is `./payment-request.ts`;
 * payments and refunds are `./payment.ts`.
 */
import type { Grant } from './grants.js';
import type { EventType, Mode } from './payment-request.js';

/** Why a system account exists: minting test money, currency exchange, or money that moved outside the ledger. */
export type SystemPurpose = 'funding' | 'fx' | 'external';

/** An account as the use cases see it. `balance` is in minor units of `currency`. */
export interface Account {
  id: string;
  orgId: string;
  mode: Mode;
  partyId: string | null;
  currency: string;
  balance: bigint;
  status: 'open' | 'closed';
  systemPurpose: SystemPurpose | null;
  /**
   * Set on a wallet account: the party's own EVM address (EIP-55 checksummed) that receives
   * `currency` on chain. Payreq holds no keys: such an account never takes part in a ledger
   * transfer and its `balance` stays 0.
   */
  address: string | null;
  /** Per org and mode, from 1, for party accounts (Pismo's account `id`, DeltaPay's `account_id`); null for system accounts. */
  number: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A party as the use cases see it. `phone` is E.164; `merchant` is free-form merchant configuration. */
export interface Party {
  id: string;
  orgId: string;
  mode: Mode;
  type: 'user' | 'legal_entity';
  username: string | null;
  phone: string | null;
  email: string | null;
  name: string | null;
  merchant: Record<string, unknown> | null;
  /** Per org and mode, from 1 (DeltaPay's `user_id` / `legal_entity_id`). */
  number: number;
  createdAt: number;
}

/** An API key without its secret. `prefix` is the first characters of the secret, for display. */
export interface ApiKey {
  id: string;
  orgId: string;
  mode: Mode;
  name: string | null;
  prefix: string;
  grants: Grant[];
  createdBy: string | null;
  createdAt: number;
  revokedAt: number | null;
  /** Epoch ms after which the key no longer authenticates; null: it does not expire. */
  expiresAt: number | null;
  /** Epoch ms of the key's last authentication (written at most once per auth cache lifetime per process); null: never used. */
  lastUsedAt: number | null;
  /** True when the key has a signing secret (AlphaPo's `X-Processing-Signature`). */
  hasSigningSecret: boolean;
}

/** A stored event. `data` is the JSON payload: the payment request as the API shows it, plus extras. `createdAt` is epoch ms. */
export interface StoredEvent {
  id: string;
  orgId: string;
  mode: Mode;
  /** Null for events about something else than a payment request (`webhook_endpoint.disabled`). */
  paymentRequestId: string | null;
  type: EventType;
  sequence: number;
  data: Record<string, unknown>;
  createdAt: number;
}

/** A merchant configuration: the payee account that receives, and the asset types a request made with it accepts. */
export interface MerchantConfig {
  id: string;
  orgId: string;
  mode: Mode;
  name: string;
  payeeAccountId: string;
  /** Centrapay asset types such as `centrapay.nzd.test`, in order. */
  assetTypes: string[];
  createdAt: number;
}

/** A patron code of a payer party. */
export interface PatronCode {
  id: string;
  orgId: string;
  mode: Mode;
  partyId: string;
  createdAt: number;
}

/** A webhook endpoint. `enabledEvents` holds event types or `*`. Times are epoch ms. */
export interface WebhookEndpoint {
  id: string;
  orgId: string;
  mode: Mode;
  url: string;
  description: string | null;
  enabledEvents: string[];
  /** How deliveries to it are rendered and signed: a name of `Deps.webhookFormats` (src/webhooks/formats.ts). */
  format: string;
  /** When set, only events of payment requests into this account (DeltaPay's per-account callbacks). */
  accountId: string | null;
  disabled: boolean;
  disabledReason: string | null;
  /** `whsec_` + base64 of 32 random bytes. */
  secret: string;
  /** The secret before the last rotation, still signing until `previousSecretUntil`. */
  previousSecret: string | null;
  previousSecretUntil: number | null;
  /** When the current run of failed attempts began; null after a success. */
  failingSince: number | null;
  createdAt: number;
  updatedAt: number;
}

/** A delivery of one event to one endpoint. */
export interface WebhookDelivery {
  id: string;
  orgId: string;
  mode: Mode;
  eventId: string;
  endpointId: string;
  /** The event's payment request and sequence, or null: a delivery waits for earlier pending ones of the same request to the same endpoint. */
  paymentRequestId: string | null;
  sequence: number | null;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  nextAttemptAt: number;
  lastStatusCode: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  createdAt: number;
  updatedAt: number;
}

/** One HTTP attempt. `responseBody` is the first 1 KiB of the response. */
export interface WebhookAttempt {
  id: string;
  deliveryId: string;
  endpointId: string;
  attempt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseBody: string | null;
  createdAt: number;
}

/** One on-chain payment option of a request, as the watcher matches it. Addresses are lower case. */
export interface ChainReference {
  id: string;
  orgId: string;
  mode: Mode;
  paymentRequestId: string;
  /** The payment option's currency (a token id such as `USDC-sepolia`). */
  currency: string;
  chainId: number;
  kind: 'erc20' | 'native';
  proxyAddress: string;
  tokenAddress: string;
  toAddress: string;
  /** 16 hex characters, no `0x`. */
  reference: string;
  /** `0x` + keccak256 of the reference's 8 bytes: the log's `topics[1]`. */
  topic: string;
  /** Epoch ms of the first pay call for it, or null. */
  listeningSince: number | null;
  createdAt: number;
}

/** What became of a matching log. */
export type ChainLogStatus = 'seen' | 'recorded' | 'ignored' | 'reverted';

/** A matching `TransferWithReferenceAndFee` log. Amounts in token base units; addresses lower case. */
export interface ChainLog {
  id: string;
  chainId: number;
  txHash: string;
  logIndex: number;
  blockNumber: number;
  blockHash: string;
  referenceId: string;
  fromAddress: string | null;
  tokenAddress: string;
  toAddress: string;
  amount: bigint;
  feeAmount: bigint;
  feeAddress: string;
  status: ChainLogStatus;
  paymentId: string | null;
  createdAt: number;
  updatedAt: number;
}
