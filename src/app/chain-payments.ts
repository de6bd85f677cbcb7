/**
 * The EVM rail's use cases (docs/dialects/request-network.md):
 *
 * - at creation, each token option payable on a configured chain gets the payee's receiving
 *   address and its own payment reference, indexed for the chain watcher;
 * - the pay call returns the transactions a wallet signs (Request Network's `/pay`);
 * - the watcher records a confirmed `TransferWithReferenceAndFee` log as a payment through the
 *   same money rules as every rail, and reverts one that a reorg removed.
 *
 * Payreq holds no keys: on-chain money goes from the payer's wallet to the payee's address,
 * so these payments post nothing to the ledger.
 */
import type { Account, ChainLog, ChainReference } from '../domain/entities.js';
import { DomainError, fieldError } from '../domain/errors.js';
import { newId, paymentReference, referenceTopic } from '../domain/ids.js';
import { formatAmount, parseAmount } from '../domain/money.js';
import { appliedShare } from '../domain/payment-options.js';
import { isDue, owedInOption, type PaymentOption, type PaymentRequest, recordRevertedPayment, recordUnappliedPayment, transition, TRANSITIONS } from '../domain/payment-request.js';
import { newPayment, type Payment } from '../domain/payment.js';
import { findWalletAccounts } from '../db/account.repository.js';
import {
  findChainReference,
  findChainReferencesByReference,
  listChainReferences,
  listLogsOfRequest,
  markListening,
} from '../db/chain.repository.js';
import { findPaymentById, insertPayment, setPaymentStatus } from '../db/payment.repository.js';
import { findPaymentRequest } from '../db/payment-request.repository.js';
import type { Db } from '../db/store.js';
import type { OnChainCurrency } from '../rails/evm/chains.js';
import { buildPayTransactions, NO_FEE_ADDRESS, type PayMetadata, type PaymentIntent, type PayTransaction } from '../rails/evm/pay.js';
import { checkAddress } from './accounts.js';
import type { Deps, Principal } from './deps.js';
import { retryStale, saveTransition } from './payment-requests/commands.js';
import { getPaymentRequest } from './payment-requests/read.js';
import { presentPayment } from './present.js';

/**
 * Gives each token option payable on a configured chain its receiving address: the one the
 * option names, else the payee account's own (a wallet account on that network), else the
 * payee party's wallet account in that token, else one on that network. An option naming an
 * address must be payable on chain. Options without an address stay off chain (ledger or
 * external payments only).
 * @param requested - the `paymentOptions` of the create call, for the `address` each may name (errors point at `paymentOptions.<i>.address`).
 * @throws DomainError `invalid_address`, `chain_not_configured`, `validation_failed` (an address on a fiat option).
 */
export async function assignReceivingAddresses(tx: Db, deps: Deps, payee: Account, options: PaymentOption[], requested: readonly { currency: string; address?: string | undefined }[]): Promise<PaymentOption[]> {
  // The payee party's wallets matter only for an option payable on chain that names no address.
  const needsWallets = payee.partyId !== null && options.some((o) => deps.chains.onChain(o.currency) && requested.find((r) => r.currency === o.currency)?.address === undefined);
  const wallets = needsWallets && payee.partyId !== null ? await findWalletAccounts(tx, payee.orgId, payee.mode, { partyId: payee.partyId }) : [];
  const networkOf = (code: string) => deps.currencies.find(code)?.token?.network;
  return options.map((option) => {
    const index = requested.findIndex((r) => r.currency === option.currency);
    const explicit = index >= 0 ? requested[index]?.address : undefined;
    const path = `paymentOptions.${index}.address`;
    const onChain = deps.chains.onChain(option.currency);
    if (explicit !== undefined) {
      const currency = deps.currencies.get(option.currency);
      if (currency.kind !== 'token') throw fieldError(path, `${option.currency} is a fiat currency: it has no address`);
      if (!onChain) throw chainNotConfigured(option.currency, path);
      return { ...option, address: checkAddress(explicit, path) };
    }
    if (!onChain) return option;
    const network = onChain.token.network;
    const own = payee.address !== null && networkOf(payee.currency) === network ? payee.address : undefined;
    const wallet = wallets.find((w) => w.currency === option.currency) ?? wallets.find((w) => networkOf(w.currency) === network);
    const address = own ?? wallet?.address ?? undefined;
    return address === undefined ? option : { ...option, address };
  });
}

function chainNotConfigured(currency: string, path: string): DomainError {
  return fieldError(path, `${currency} cannot be paid on chain here: its network is not in PAYREQ_CHAINS`, 'chain_not_configured');
}

/** The index rows for a new request's on-chain options (every option with an address). */
export function chainReferencesOf(deps: Deps, pr: PaymentRequest): ChainReference[] {
  const refs: ChainReference[] = [];
  for (const option of pr.paymentOptions) {
    const onChain = option.address === undefined ? undefined : deps.chains.onChain(option.currency);
    if (!onChain || option.address === undefined) continue;
    const reference = paymentReference(pr.id, pr.salt, option.address);
    refs.push({
      id: newId(),
      orgId: pr.orgId,
      mode: pr.mode,
      paymentRequestId: pr.id,
      currency: option.currency,
      chainId: onChain.chain.chainId,
      kind: onChain.kind,
      proxyAddress: onChain.proxyAddress,
      tokenAddress: onChain.tokenAddress,
      toAddress: option.address,
      reference,
      topic: referenceTopic(reference),
      listeningSince: null,
      createdAt: pr.createdAt,
    });
  }
  return refs;
}

/** Input for {@link preparePayment}: amounts are decimal strings in the option's token. */
export interface PayInput {
  /** The option to pay in (default: the first on-chain option). */
  currency?: string | undefined;
  /** The payer's address. */
  wallet: string;
  /** A partial payment; at most what is still owed (default: all of it). */
  amount?: string | undefined;
  feeAmount?: string | undefined;
  feeAddress?: string | undefined;
}

/** The pay call's answer, and what it was built for. */
export interface PreparedPayment {
  transactions: PayTransaction[];
  metadata: PayMetadata;
  onChain: OnChainCurrency;
  reference: ChainReference;
  intent: PaymentIntent;
}

/**
 * Builds the transactions `wallet` signs to pay (part of) what is still owed on chain, and
 * starts listening on the reference (Request Network's `isListening`). Needs the key to see
 * the request.
 * @throws DomainError `payment_request_not_found`, `invalid_address` (`wallet`, `feeAddress`),
 *   `chain_not_configured` (the currency's network is not watched), `not_payable_on_chain` (no
 *   on-chain option in that currency, or the request is not pending), `invalid_amount` (more than
 *   is owed, too many decimals), `validation_failed` (a fee without its address or the reverse),
 *   `chain_unavailable` (the RPC endpoint failed).
 */
export async function preparePayment(deps: Deps, principal: Principal, id: string, input: PayInput): Promise<PreparedPayment> {
  const wallet = checkAddress(input.wallet, 'wallet');
  const pr = await getPaymentRequest(deps, principal, id);
  const references = await listChainReferences(deps.store, pr.id);
  if (input.currency !== undefined) {
    deps.currencies.get(input.currency, 'currency');
    if (!deps.chains.onChain(input.currency)) throw chainNotConfigured(input.currency, 'currency');
  } else if (!deps.chains.enabled) {
    throw new DomainError('chain_not_configured', 'the EVM rail is off: PAYREQ_CHAINS names no chain');
  }
  const reference = input.currency === undefined ? references.find((r) => deps.chains.byChainId(r.chainId)) : references.find((r) => r.currency === input.currency);
  const onChain = reference && deps.chains.onChain(reference.currency);
  const option = reference && pr.paymentOptions.find((o) => o.currency === reference.currency);
  if (!reference || !onChain || !option) {
    throw new DomainError('not_payable_on_chain', `payment request ${pr.id} has no on-chain option${input.currency === undefined ? '' : ` in ${input.currency}`} (no payee address on that network)`);
  }
  if (pr.status !== 'pending' || isDue(pr, deps.clock())) {
    throw new DomainError('not_payable_on_chain', `payment request ${pr.id} is ${pr.status === 'pending' ? 'expired' : pr.status}: it takes no payment`, { details: { currentStatus: pr.status === 'pending' ? 'expired' : pr.status } });
  }
  const decimals = onChain.token.decimals;
  const owed = owedInOption(pr, option);
  let amount = owed;
  if (input.amount !== undefined) {
    amount = parseAmount(input.amount, decimals);
    if (amount > owed) {
      const message = `amount is more than the ${formatAmount(owed, decimals)} ${option.currency} still owed`;
      throw new DomainError('invalid_amount', message, { errors: [{ path: 'amount', message }] });
    }
  }
  if ((input.feeAmount === undefined) !== (input.feeAddress === undefined)) {
    throw fieldError(input.feeAmount === undefined ? 'feeAmount' : 'feeAddress', 'give feeAmount and feeAddress together');
  }
  const feeAmount = input.feeAmount === undefined ? 0n : parseAmount(input.feeAmount, decimals, { allowZero: true, path: 'feeAmount' });
  const feeAddress = input.feeAddress === undefined ? NO_FEE_ADDRESS : checkAddress(input.feeAddress, 'feeAddress');
  const intent: PaymentIntent = { to: checkAddress(option.address ?? reference.toAddress), amount, reference: reference.reference, feeAmount, feeAddress };
  let built;
  try {
    built = await buildPayTransactions(deps.chains.client(onChain.chain), onChain, wallet, intent);
  } catch (err) {
    throw new DomainError('chain_unavailable', `the ${onChain.chain.network} RPC endpoint did not answer`, { cause: err });
  }
  await markListening(deps.store, reference.id, deps.clock());
  return { ...built, onChain, reference: { ...reference, listeningSince: reference.listeningSince ?? deps.clock() }, intent };
}

/**
 * The request a payment reference belongs to, as the key may see it, with the on-chain option
 * the reference is for (Request Network's v1 routes address requests by reference).
 * @param reference - 16 hex characters, with or without `0x`, any case.
 * @throws DomainError `payment_request_not_found`.
 */
export async function getPaymentRequestByReference(deps: Deps, principal: Principal, reference: string): Promise<{ paymentRequest: PaymentRequest; reference: ChainReference }> {
  const hex = reference.replace(/^0x/i, '').toLowerCase();
  const [ref] = /^[0-9a-f]{16}$/.test(hex) ? await findChainReferencesByReference(deps.store, principal.orgId, principal.mode, hex) : [];
  if (!ref) throw new DomainError('payment_request_not_found', `no payment request has payment reference ${reference}`);
  return { paymentRequest: await getPaymentRequest(deps, principal, ref.paymentRequestId), reference: ref };
}

/** A request's on-chain state: its references (with `listeningSince`) and the logs seen for it. */
export async function chainStateOf(deps: Deps, pr: PaymentRequest): Promise<{ references: ChainReference[]; logs: (ChainLog & { currency: string })[] }> {
  const [references, logs] = await Promise.all([listChainReferences(deps.store, pr.id), listLogsOfRequest(deps.store, pr.id)]);
  return { references, logs };
}

/** A log the watcher found for a known reference, with the chain details a payment carries. */
export interface ConfirmedLog {
  log: ChainLog;
  network: string;
}

function paymentOfLog(pr: PaymentRequest, ref: ChainReference, network: string, log: ChainLog, applied: bigint, status: Payment['status'], now: number): Payment {
  return newPayment(pr, {
    rail: 'evm',
    currency: ref.currency,
    amount: log.amount,
    appliedAmount: applied,
    // Unique per fork: the same log re-mined in another block after a reorg is a new payment.
    reference: `${log.chainId}:${log.txHash}:${log.logIndex}:${log.blockHash}`,
    payerAccountId: null,
    status,
    chain: {
      network,
      chainId: log.chainId,
      txHash: log.txHash,
      logIndex: log.logIndex,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      from: log.fromAddress,
      to: log.toAddress,
      tokenAddress: ref.kind === 'native' ? ref.tokenAddress : log.tokenAddress,
      feeAmount: log.feeAmount,
      feeAddress: log.feeAddress,
    },
  }, now);
}

/**
 * Records a log that is `confirmations` deep as a payment of its request, in one transaction
 * with the log's `seen → recorded` compare-and-set (so two watchers can never record it twice).
 * A payable request applies it (partial payments accumulate; an over-payment counts in full);
 * a request no longer payable (expired, cancelled, paid…) records it with status
 * `requires_refund` (never lost). The `payment.received` event carries the chain details.
 * @returns the payment, or undefined when the log was already handled.
 */
export function recordChainPayment(deps: Deps, confirmed: ConfirmedLog): Promise<Payment | undefined> {
  const { log, network } = confirmed;
  return retryStale(() =>
    deps.store.transaction(async (tx) => {
      const ref = await findChainReference(tx, log.referenceId);
      if (!ref) throw new Error(`chain log ${log.id} names a missing reference`);
      const pr = await findPaymentRequest(tx, ref.orgId, ref.mode, ref.paymentRequestId);
      const option = pr?.paymentOptions.find((o) => o.currency === ref.currency);
      if (!pr || !option) throw new Error(`chain reference ${ref.id} names a missing request or option`);
      const now = deps.clock();
      const applied = appliedShare(pr, option, log.amount);
      const payable = pr.status === 'pending' && !isDue(pr, now) && applied > 0n;
      const payment = paymentOfLog(pr, ref, network, log, payable ? applied : 0n, payable ? 'applied' : 'requires_refund', now);
      if (!(await claimLog(tx, log.id, 'seen', 'recorded', payment.id, now))) return undefined;
      await insertPayment(tx, payment);
      const extras = { payment: presentPayment(payment, pr.currency, deps.currencies) };
      const result = payable
        ? transition(pr, { type: 'receive_payment', payment: { id: payment.id, appliedAmount: applied } }, now, null)
        : recordUnappliedPayment(pr, payment.id, now);
      await saveTransition(tx, deps, pr, result, now, extras);
      return payment;
    }),
  );
}

async function claimLog(tx: Db, id: string, from: ChainLog['status'], to: ChainLog['status'], paymentId: string | null, now: number): Promise<boolean> {
  const result = await tx.db.updateTable('chain_logs').set({ status: to, payment_id: paymentId, updated_at: now }).where('id', '=', id).where('status', '=', from).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * A reorg deeper than the confirmations removed a recorded log: its payment becomes
 * `reverted` and stops counting toward `amountPaid`, with a `payment.reverted` event. A `paid`
 * request no longer fully paid goes back to `pending` (the transition table's `revert_payment`);
 * other statuses keep theirs.
 * @returns the reverted payment, or undefined when the log was not recorded (nothing to revert).
 */
export function revertChainPayment(deps: Deps, log: ChainLog): Promise<Payment | undefined> {
  return retryStale(() =>
    deps.store.transaction(async (tx) => {
      if (log.paymentId === null) return undefined;
      const payment = await findPaymentById(tx, log.paymentId);
      if (!payment || payment.status === 'reverted') return undefined;
      if (!(await claimLog(tx, log.id, 'recorded', 'reverted', log.paymentId, deps.clock()))) return undefined;
      const pr = await findPaymentRequest(tx, payment.orgId, payment.mode, payment.paymentRequestId);
      if (!pr) throw new Error(`payment ${payment.id} names a missing request`);
      const now = deps.clock();
      const reverted: Payment = { ...payment, status: 'reverted' };
      await setPaymentStatus(tx, payment.id, 'reverted');
      const fact = { id: payment.id, appliedAmount: payment.status === 'applied' ? payment.appliedAmount : 0n };
      const result = TRANSITIONS.revert_payment.includes(pr.status) && fact.appliedAmount > 0n
        ? transition(pr, { type: 'revert_payment', payment: fact }, now, null)
        : recordRevertedPayment(pr, fact, now);
      await saveTransition(tx, deps, pr, result, now, { payment: presentPayment(reverted, pr.currency, deps.currencies) });
      return reverted;
    }),
  );
}
