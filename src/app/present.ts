/**
 * The JSON the API returns and events carry: camelCase, amounts as decimal strings in their
 * currency, times as RFC 3339 strings. One function per object, used by every route and by the
 * event log, so a payload never differs between the two. Each returns the type its response
 * schema in `src/contract/v1/` accepts, so a field the schema has and the presenter lacks (or the
 * reverse) does not compile.
 */
import type { AccountJson } from '../contract/v1/accounts.js';
import type { ApiKeyJson } from '../contract/v1/api-keys.js';
import type { EventJson } from '../contract/v1/events.js';
import type { MerchantConfigJson, PatronCodeJson } from '../contract/v1/merchants.js';
import type { PartyJson } from '../contract/v1/parties.js';
import type { PaymentRequestJson } from '../contract/v1/payment-requests.js';
import type { PaymentJson } from '../contract/v1/payments.js';
import type { RefundJson } from '../contract/v1/refunds.js';
import type { CurrencyRegistry } from '../domain/currency.js';
import type { Account, ApiKey, MerchantConfig, Party, PatronCode, StoredEvent } from '../domain/entities.js';
import { paymentReference } from '../domain/ids.js';
import { formatWireAmount } from '../domain/money.js';
import { effectiveStatus, owedInOption, type PaymentOption, type PaymentRequest } from '../domain/payment-request.js';
import type { Payment, Refund } from '../domain/payment.js';
import { NO_FEE_ADDRESS, paymentUri } from '../rails/evm/pay.js';
import type { Deps } from './deps.js';
import { currencyOfAssetType } from './merchant-configs.js';

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}

/** Formats minor units of `currency` as a decimal string on the wire (fiat: its minor-unit digits; tokens: no trailing zeros). */
export function money(currencies: CurrencyRegistry, currency: string, minor: bigint): string {
  return formatWireAmount(minor, currencies.get(currency));
}

/**
 * A payment option as the API shows it. An on-chain option (a token of a configured chain
 * with a receiving address) also shows `chainId`, `address`, `tokenAddress`, its own
 * `paymentReference`, the `proxyAddress` to call and an EIP-681 `uri` for what is still owed;
 * these are null on other options.
 */
function presentOption(pr: PaymentRequest, option: PaymentOption, deps: Pick<Deps, 'currencies' | 'chains'>): PaymentRequestJson['paymentOptions'][number] {
  const token = deps.currencies.find(option.currency)?.token;
  const onChain = option.address === undefined ? undefined : deps.chains.onChain(option.currency);
  const base = { currency: option.currency, amount: money(deps.currencies, option.currency, option.amount), rate: option.rate, network: token?.network ?? null };
  if (!onChain || option.address === undefined) {
    return { ...base, chainId: null, address: option.address ?? null, tokenAddress: null, paymentReference: null, proxyAddress: null, uri: null };
  }
  const reference = paymentReference(pr.id, pr.salt, option.address);
  const to = option.address as `0x${string}`;
  const intent = { to, amount: owedInOption(pr, option), reference, feeAmount: 0n, feeAddress: NO_FEE_ADDRESS };
  return {
    ...base,
    chainId: onChain.chain.chainId,
    address: option.address,
    tokenAddress: onChain.tokenAddress,
    paymentReference: `0x${reference}`,
    proxyAddress: onChain.proxyAddress,
    uri: paymentUri(onChain, intent),
  };
}

/**
 * The payment request as the API returns it, with its status as of `now` (epoch ms). The
 * dialects' own data (`pr.dialectData`) is never part of it (docs/api.md "Metadata").
 */
export function presentPaymentRequest(pr: PaymentRequest, deps: Pick<Deps, 'currencies' | 'chains' | 'settings'>, now: number): PaymentRequestJson {
  const { currencies } = deps;
  const publicUrl = deps.settings.publicUrl;
  const amount = (minor: bigint) => money(currencies, pr.currency, minor);
  return {
    id: pr.id,
    object: 'payment_request' as const,
    number: pr.number,
    mode: pr.mode,
    status: effectiveStatus(pr, now),
    amount: amount(pr.amount),
    currency: pr.currency,
    payee: {
      accountId: pr.payeeAccountId,
      partyId: pr.payeePartyId,
      accountNumber: pr.parties?.payee.accountNumber ?? null,
      partyNumber: pr.parties?.payee.number ?? null,
      partyType: pr.parties?.payee.type ?? null,
      name: pr.parties?.payee.name ?? null,
    },
    payer:
      pr.payerAccountId === null && pr.payerPartyId === null
        ? null
        : { accountId: pr.payerAccountId, partyId: pr.payerPartyId, partyNumber: pr.parties?.payer?.number ?? null, partyType: pr.parties?.payer?.type ?? null, name: pr.parties?.payer?.name ?? null },
    paymentOptions: pr.paymentOptions.map((o) => presentOption(pr, o, deps)),
    expiresAt: iso(pr.expiresAt),
    description: pr.description,
    metadata: pr.metadata,
    externalId: pr.externalId,
    lineItems: pr.lineItems?.map((li) => ({ name: li.name, sku: li.sku, qty: li.qty, price: amount(li.price) })) ?? null,
    customer: pr.customer,
    redirectUrls: pr.redirectUrls,
    merchant: pr.merchant,
    patronCodeId: pr.patronCodeId,
    transactionType: pr.transactionType,
    tillId: pr.tillId,
    amountPaid: amount(pr.amountPaid),
    amountRefunded: amount(pr.amountRefunded),
    paidAt: isoOrNull(pr.paidAt),
    failureReason: pr.failureReason,
    code: pr.code,
    paymentLink: `${publicUrl}/pay/${pr.code}`,
    paymentReference: pr.paymentReference,
    sequence: pr.sequence,
    createdAt: iso(pr.createdAt),
    updatedAt: iso(pr.updatedAt),
  };
}

/**
 * A payment as the API returns it. An `evm` payment also carries where it happened: `network`,
 * `chainId`, `txHash`, `logIndex`, `blockNumber`, `from` (the payer's wallet), `to`,
 * `tokenAddress`, `feeAmount` (a decimal string in the token) and `feeAddress`; these are null
 * on the other rails.
 */
export function presentPayment(p: Payment, requestCurrency: string, currencies: CurrencyRegistry): Omit<PaymentJson, 'paymentRequest'> {
  const c = p.chain;
  return {
    id: p.id,
    object: 'payment' as const,
    paymentRequestId: p.paymentRequestId,
    rail: p.rail,
    amount: money(currencies, p.currency, p.amount),
    currency: p.currency,
    appliedAmount: money(currencies, requestCurrency, p.appliedAmount),
    amountRefunded: money(currencies, requestCurrency, p.amountRefunded),
    reference: p.reference,
    payerAccountId: p.payerAccountId,
    status: p.status,
    network: c?.network ?? null,
    chainId: c?.chainId ?? null,
    txHash: c?.txHash ?? null,
    logIndex: c?.logIndex ?? null,
    blockNumber: c?.blockNumber ?? null,
    from: c?.from ?? null,
    to: c?.to ?? null,
    tokenAddress: c?.tokenAddress ?? null,
    feeAmount: c ? money(currencies, p.currency, c.feeAmount) : null,
    feeAddress: c?.feeAddress ?? null,
    createdAt: iso(p.createdAt),
  };
}

/** A refund as the API returns it. */
export function presentRefund(r: Refund, currency: string, currencies: CurrencyRegistry): Omit<RefundJson, 'paymentRequest'> {
  return {
    id: r.id,
    object: 'refund' as const,
    paymentRequestId: r.paymentRequestId,
    amount: money(currencies, currency, r.amount),
    currency,
    reason: r.reason,
    reference: r.reference,
    createdAt: iso(r.createdAt),
  };
}

/** An account as the API returns it, with its balance. */
export function presentAccount(a: Account, currencies: CurrencyRegistry): AccountJson {
  return {
    id: a.id,
    object: 'account' as const,
    number: a.number,
    mode: a.mode,
    partyId: a.partyId,
    currency: a.currency,
    /** `ledger`, or `wallet`: an address that receives the token on chain, holding nothing in Payreq (`balance` null). */
    type: a.address === null ? ('ledger' as const) : ('wallet' as const),
    address: a.address,
    network: a.address === null ? null : (currencies.find(a.currency)?.token?.network ?? null),
    balance: a.address === null ? money(currencies, a.currency, a.balance) : null,
    status: a.status,
    createdAt: iso(a.createdAt),
    updatedAt: iso(a.updatedAt),
  };
}

/** A party as the API returns it. */
export function presentParty(p: Party): PartyJson {
  return {
    id: p.id,
    object: 'party' as const,
    number: p.number,
    mode: p.mode,
    type: p.type,
    username: p.username,
    phone: p.phone,
    email: p.email,
    name: p.name,
    merchant: p.merchant,
    createdAt: iso(p.createdAt),
  };
}

/** An API key as the API returns it (never the secret, except once at creation). */
export function presentApiKey(k: ApiKey): ApiKeyJson {
  return {
    id: k.id,
    object: 'api_key' as const,
    mode: k.mode,
    name: k.name,
    prefix: k.prefix,
    grants: k.grants,
    hasSigningSecret: k.hasSigningSecret,
    createdAt: iso(k.createdAt),
    expiresAt: k.expiresAt === null ? null : iso(k.expiresAt),
    lastUsedAt: k.lastUsedAt === null ? null : iso(k.lastUsedAt),
    revokedAt: k.revokedAt === null ? null : iso(k.revokedAt),
  };
}

/**
 * An event as the API returns it. `data` holds the payment request as it was after the change;
 * the dialects' own data that the stored event carries for their webhook formats is left out
 * (docs/api.md "Metadata").
 */
export function presentEvent(e: StoredEvent): EventJson {
  const { dialectData: _dialectData, ...data } = e.data;
  return {
    id: e.id,
    object: 'event' as const,
    type: e.type,
    sequence: e.sequence,
    paymentRequestId: e.paymentRequestId,
    createdAt: iso(e.createdAt),
    data,
  };
}

/**
 * A merchant configuration as the API returns it; `currencies` holds the currency of each asset
 * type in order (an empty string for one the server no longer knows).
 */
export function presentMerchantConfig(c: MerchantConfig, currencies: CurrencyRegistry): MerchantConfigJson {
  return {
    id: c.id,
    object: 'merchant_config' as const,
    mode: c.mode,
    name: c.name,
    payeeAccountId: c.payeeAccountId,
    assetTypes: c.assetTypes,
    currencies: c.assetTypes.map((t) => currencyOfAssetType(currencies, t, c.mode) ?? ''),
    createdAt: iso(c.createdAt),
  };
}

/** A patron code as the API returns it. */
export function presentPatronCode(c: PatronCode): PatronCodeJson {
  return { id: c.id, object: 'patron_code' as const, mode: c.mode, partyId: c.partyId, createdAt: iso(c.createdAt) };
}
