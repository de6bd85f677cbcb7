/**
 * Creating a payment request: the payee's account and the key's grant over it, the payer, the
 * lifetime, line items and payment options (the rules in src/domain/lifetime.ts,
 * src/domain/line-items.ts, src/domain/payment-options.ts), the on-chain receiving addresses,
 * and the request with its `payment_request.created` event in one transaction. docs/api.md, "Creating".
 */
import type { Account, Party } from '../../domain/entities.js';
import { DomainError, fieldError } from '../../domain/errors.js';
import { allows } from '../../domain/grants.js';
import { newCode, newId, newSalt, paymentReference } from '../../domain/ids.js';
import { expiryOf } from '../../domain/lifetime.js';
import { type LineItemInput, parseLineItems } from '../../domain/line-items.js';
import { parseAmount } from '../../domain/money.js';
import { quotePaymentOptions } from '../../domain/payment-options.js';
import type { DialectData, PaymentRequest } from '../../domain/payment-request.js';
import { normalizePhone } from '../../domain/phone.js';
import { findAccount, findAccounts } from '../../db/account.repository.js';
import { insertChainReferences } from '../../db/chain.repository.js';
import { isUniqueViolation } from '../../db/errors.js';
import { nextNumber } from '../../db/number.repository.js';
import { findParty } from '../../db/party.repository.js';
import { findPatronCode } from '../../db/patron-code.repository.js';
import { insertPaymentRequest } from '../../db/payment-request.repository.js';
import type { Db } from '../../db/store.js';
import { canSeeAccount, isWallet } from '../accounts.js';
import { assignReceivingAddresses, chainReferencesOf } from '../chain-payments.js';
import type { Deps, Principal } from '../deps.js';
import { recordEvents } from '../outbox.js';
import { eventsToStore } from './commands.js';

/** Who the request is addressed to; without one the request is open: whoever holds its link pays. */
export type PayerInput = { accountId: string } | { partyId: string } | { username: string } | { phone: string };

/** Input for {@link createPaymentRequest}; amounts are decimal strings in `currency`. Exactly one of `expiresIn` (seconds) and `expiresAt` (RFC 3339). */
export interface CreatePaymentRequestInput {
  amount: string;
  currency: string;
  payee: { accountId: string };
  payer?: PayerInput | undefined;
  expiresIn?: number | undefined;
  expiresAt?: string | undefined;
  description?: string | undefined;
  /** The caller's own data, shown back as given; never read by a dialect. */
  metadata?: Record<string, unknown> | undefined;
  /**
   * A dialect's own fields, keyed by dialect name, stored apart from `metadata` and never shown on
   * /v1 (docs/api.md "Metadata"); only a dialect's routes pass it, each with its slice validated by
   * its own schema (src/dialects/<name>/data.ts).
   */
  dialectData?: DialectData | undefined;
  externalId?: string | undefined;
  lineItems?: LineItemInput[] | undefined;
  customer?: { email?: string | undefined; reference?: string | undefined } | undefined;
  redirectUrls?: { store?: string | undefined; success?: string | undefined; failed?: string | undefined } | undefined;
  /** Extra currencies the payer may pay in; a token payable on chain may name the payee's receiving `address`. */
  paymentOptions?: { currency: string; address?: string | undefined }[] | undefined;
  patronCodeId?: string | undefined;
  transactionType?: string | undefined;
  tillId?: string | undefined;
}

/** Resolves the payer; `read` holds accounts already read in this transaction (create reads the payer's account with the payee's). */
async function resolvePayer(tx: Db, principal: Principal, payer: PayerInput | undefined, read: readonly Account[] = []): Promise<{ accountId: string | null; partyId: string | null }> {
  if (payer === undefined) return { accountId: null, partyId: null };
  const missing = (path: string, what: string) => fieldError(`payer.${path}`, `no payer ${what}`, 'payer_not_found');
  if ('accountId' in payer) {
    const account = read.find((a) => a.id === payer.accountId) ?? (await findAccount(tx, principal.orgId, principal.mode, payer.accountId));
    if (!account || account.systemPurpose !== null) throw missing('accountId', `account ${payer.accountId}`);
    return { accountId: account.id, partyId: account.partyId };
  }
  let party: Party | undefined;
  if ('partyId' in payer) party = await findParty(tx, principal.orgId, principal.mode, { id: payer.partyId });
  else if ('username' in payer) party = await findParty(tx, principal.orgId, principal.mode, { username: payer.username });
  else party = await findParty(tx, principal.orgId, principal.mode, { phone: normalizePhone(payer.phone, 'payer.phone') });
  if (!party) throw missing(Object.keys(payer)[0] ?? 'partyId', 'matches');
  return { accountId: null, partyId: party.id };
}

/**
 * Creates a payment request in `pending`, with its `payment_request.created` event.
 * Needs `payment_requests:create` over the payee account or its party.
 * @throws DomainError `unknown_currency`, `invalid_amount`, `invalid_expiry`, `line_items_mismatch`,
 *   `rate_unavailable`, `account_not_found` (payee), `currency_mismatch` (payee account in another
 *   currency), `account_closed`, `payer_not_found`, `invalid_phone`, `account_not_allowed` (payer =
 *   payee account), `forbidden`, `external_id_conflict`, `patron_code_not_found`. With
 *   `patronCodeId` the request is attached to that patron code and its party becomes the payer
 *   (a `payer` naming another party is `validation_failed`).
 */
export async function createPaymentRequest(deps: Deps, principal: Principal, input: CreatePaymentRequestInput): Promise<PaymentRequest> {
  const currency = deps.currencies.get(input.currency);
  const amount = parseAmount(input.amount, currency.exponent);
  const now = deps.clock();
  const expiresAt = expiryOf(input, now, deps.settings);
  const lineItems = parseLineItems(input.lineItems, currency.exponent, amount);
  const quoted = quotePaymentOptions(deps.currencies, deps.rates, input.currency, amount, input.paymentOptions);

  return deps.store.transaction(async (tx) => {
    // The payee's account, and the payer's when the request names one, in one read.
    const read = await findAccounts(tx, principal.orgId, principal.mode, [input.payee.accountId, ...(input.payer !== undefined && 'accountId' in input.payer ? [input.payer.accountId] : [])]);
    const payee = read.find((a) => a.id === input.payee.accountId);
    if (!payee || payee.systemPurpose !== null || !payee.partyId) {
      throw fieldError('payee.accountId', `account ${input.payee.accountId} does not exist`, 'account_not_found');
    }
    if (!allows(principal.grants, 'payment_requests:create', { accountIds: [payee.id], partyIds: [payee.partyId] })) {
      if (canSeeAccount(principal, payee)) throw new DomainError('forbidden', 'this API key may not request payments into this account (needs payment_requests:create)');
      throw fieldError('payee.accountId', `account ${input.payee.accountId} does not exist`, 'account_not_found');
    }
    // A wallet account receives its token on chain: an invoice in another currency (USD paid
    // in USDC, Request Network's invoiceCurrency/paymentCurrency) adds that token as an option.
    let paymentOptions = quoted;
    if (payee.currency !== currency.code) {
      if (!isWallet(payee)) throw fieldError('currency', `the payee account holds ${payee.currency}, not ${currency.code}`, 'currency_mismatch');
      if (!quoted.some((o) => o.currency === payee.currency)) paymentOptions = quotePaymentOptions(deps.currencies, deps.rates, input.currency, amount, input.paymentOptions, [payee.currency]);
    }
    paymentOptions = await assignReceivingAddresses(tx, deps, payee, paymentOptions, input.paymentOptions ?? []);
    if (payee.status === 'closed') throw fieldError('payee.accountId', 'the payee account is closed', 'account_closed');
    const payer = await resolvePayer(tx, principal, input.payer, read);
    if (input.patronCodeId !== undefined) {
      // A patron code names its party: the request is attached to it, and that party pays.
      const patronCode = await findPatronCode(tx, principal.orgId, principal.mode, input.patronCodeId);
      if (!patronCode) throw fieldError('patronCodeId', `patron code ${input.patronCodeId} does not exist`, 'patron_code_not_found');
      if (payer.partyId !== null && payer.partyId !== patronCode.partyId) throw fieldError('patronCodeId', 'the patron code belongs to another party than the payer');
      payer.partyId = patronCode.partyId;
    }
    if (payer.accountId === payee.id) throw fieldError('payer.accountId', 'the payer account cannot be the payee account', 'account_not_allowed');
    const payeeParty = await findParty(tx, principal.orgId, principal.mode, { id: payee.partyId });
    const payerParty = payer.partyId === null ? undefined : await findParty(tx, principal.orgId, principal.mode, { id: payer.partyId });
    const ref = (p: Party) => ({ number: p.number, type: p.type, name: p.type === 'user' ? (p.username ?? p.name) : p.name });
    const merchant = payeeParty?.type === 'legal_entity' ? { id: payeeParty.id, name: payeeParty.name, ...(payeeParty.merchant ?? {}) } : null;

    const id = newId();
    const salt = newSalt();
    const pr: PaymentRequest = {
      id,
      orgId: principal.orgId,
      mode: principal.mode,
      status: 'pending',
      amount,
      currency: currency.code,
      payeeAccountId: payee.id,
      payeePartyId: payee.partyId,
      payerAccountId: payer.accountId,
      payerPartyId: payer.partyId,
      paymentOptions,
      expiresAt,
      description: input.description ?? null,
      metadata: input.metadata ?? null,
      dialectData: input.dialectData === undefined || Object.keys(input.dialectData).length === 0 ? null : input.dialectData,
      externalId: input.externalId ?? null,
      lineItems,
      customer: input.customer ?? null,
      redirectUrls: input.redirectUrls ?? null,
      merchant,
      patronCodeId: input.patronCodeId ?? null,
      transactionType: input.transactionType ?? null,
      tillId: input.tillId ?? null,
      amountPaid: 0n,
      amountRefunded: 0n,
      paidAt: null,
      failureReason: null,
      code: newCode(),
      parties: payeeParty ? { payee: { ...ref(payeeParty), accountNumber: payee.number }, payer: payerParty ? ref(payerParty) : null } : null,
      number: await nextNumber(tx, principal.orgId, principal.mode, 'payment_request'),
      // Request Network's reference over the first receiving address; a ledger-only request
      // uses its payee account id in the address's place.
      paymentReference: paymentReference(id, salt, paymentOptions.find((o) => o.address !== undefined)?.address ?? payee.id),
      salt,
      sequence: 1,
      statusCause: null,
      statusActor: principal.keyId,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await insertPaymentRequest(tx, pr);
    } catch (err) {
      if (isUniqueViolation(err, 'external_id')) {
        throw fieldError('externalId', `a payment request with externalId "${pr.externalId}" already exists`, 'external_id_conflict');
      }
      throw err;
    }
    await insertChainReferences(tx, chainReferencesOf(deps, pr));
    await recordEvents(tx, eventsToStore(deps, pr, [{ type: 'payment_request.created', sequence: 1 }], {}, now), now, deps.webhookFormats);
    return pr;
  });
}

