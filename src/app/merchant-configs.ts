/**
 * Merchant configurations: what Centrapay's `configId` names (docs/dialects/centrapay.md):
 * the payee account that receives, and the asset types a request made with it accepts.
 *
 * Asset types are Centrapay's names for what pays (a Payment Option's `assetType`). Payreq maps
 * them to its currencies one to one, with the mode as Centrapay's liveness:
 * - a fiat currency's ledger: `centrapay.<iso code in lower case>.<main|test>`, so
 *   `centrapay.nzd.test` is NZD in test mode and `centrapay.nzd.main` NZD in live mode;
 * - a token: `<token id in lower case>.<main|test>`, such as `usdc-mainnet.main`.
 */
import type { CurrencyRegistry } from '../domain/currency.js';
import type { MerchantConfig } from '../domain/entities.js';
import { DomainError, fieldError } from '../domain/errors.js';
import { allows } from '../domain/grants.js';
import { isUuid, newId } from '../domain/ids.js';
import type { Mode } from '../domain/payment-request.js';
import { findAccount } from '../db/account.repository.js';
import { findMerchantConfig, insertMerchantConfig, listMerchantConfigs as listRows } from '../db/merchant-config.repository.js';
import { canSeeAccount, isWallet, mayRequestInto } from './accounts.js';
import type { Deps, Principal } from './deps.js';

/** Centrapay's liveness of a mode: `main` for live, `test` for test. */
export function livenessOf(mode: Mode): 'main' | 'test' {
  return mode === 'live' ? 'main' : 'test';
}

/** The asset type of a currency in a mode: `centrapay.nzd.test`, `usdc-mainnet.main`. */
export function assetTypeOf(currencies: CurrencyRegistry, code: string, mode: Mode): string {
  const currency = currencies.get(code);
  const name = currency.kind === 'fiat' ? `centrapay.${currency.code.toLowerCase()}` : currency.code.toLowerCase();
  return `${name}.${livenessOf(mode)}`;
}

/**
 * The currency code an asset type stands for in `mode`, or undefined when it names no known
 * currency or belongs to the other liveness (a test asset never pays in live mode).
 */
export function currencyOfAssetType(currencies: CurrencyRegistry, assetType: string, mode: Mode): string | undefined {
  const match = /^(.+)\.(main|test)$/.exec(assetType);
  if (!match?.[1] || match[2] !== livenessOf(mode)) return undefined;
  const name = match[1];
  if (name.startsWith('centrapay.')) {
    const code = name.slice('centrapay.'.length);
    if (code !== code.toLowerCase()) return undefined;
    const currency = currencies.find(code.toUpperCase());
    return currency?.kind === 'fiat' ? currency.code : undefined;
  }
  return currencies.listTokens().find((t) => t.id.toLowerCase() === name)?.id;
}

/** Input for {@link createMerchantConfig}. */
export interface MerchantConfigInput {
  name: string;
  payeeAccountId: string;
  /** Default: the payee account's own asset type. */
  assetTypes?: string[] | undefined;
}

/**
 * Creates a merchant configuration. Needs `accounts:manage` over the payee account or its party.
 * @throws DomainError `account_not_found` (payee unknown, a system account, or not visible),
 *   `forbidden`, `validation_failed` (an asset type of no currency in this mode, or listed twice).
 */
export async function createMerchantConfig(deps: Deps, principal: Principal, input: MerchantConfigInput): Promise<MerchantConfig> {
  const payee = isUuid(input.payeeAccountId) ? await findAccount(deps.store, principal.orgId, principal.mode, input.payeeAccountId) : undefined;
  if (!payee || payee.systemPurpose !== null || !canSeeAccount(principal, payee)) {
    throw fieldError('payeeAccountId', `account ${input.payeeAccountId} does not exist`, 'account_not_found');
  }
  if (!allows(principal.grants, 'accounts:manage', { accountIds: [payee.id], partyIds: [payee.partyId] })) {
    throw new DomainError('forbidden', 'this API key may not configure this account (needs accounts:manage)');
  }
  const assetTypes = input.assetTypes ?? [assetTypeOf(deps.currencies, payee.currency, principal.mode)];
  for (const [i, assetType] of assetTypes.entries()) {
    if (currencyOfAssetType(deps.currencies, assetType, principal.mode) === undefined) {
      throw fieldError(`assetTypes.${i}`, `"${assetType}" is not an asset type of a known currency in ${principal.mode} mode (such as ${assetTypeOf(deps.currencies, payee.currency, principal.mode)})`);
    }
    if (assetTypes.indexOf(assetType) !== i) throw fieldError(`assetTypes.${i}`, `"${assetType}" is listed twice`);
  }
  if (isWallet(payee)) throw fieldError('payeeAccountId', 'a merchant configuration receives into a ledger account', 'account_not_allowed');
  const config: MerchantConfig = { id: newId(), orgId: principal.orgId, mode: principal.mode, name: input.name, payeeAccountId: payee.id, assetTypes, createdAt: deps.clock() };
  // In a transaction, so that an idempotent request holds it and commits it with its stored answer (src/http/idempotency.ts).
  await deps.store.transaction((tx) => insertMerchantConfig(tx, config));
  return config;
}

/**
 * Reads a merchant configuration the key may use: visible with any grant over its payee account.
 * @throws DomainError `merchant_config_not_found`.
 */
export async function getMerchantConfig(deps: Deps, principal: Principal, id: string): Promise<MerchantConfig> {
  const config = isUuid(id) ? await findMerchantConfig(deps.store, principal.orgId, principal.mode, id) : undefined;
  const payee = config && (await findAccount(deps.store, principal.orgId, principal.mode, config.payeeAccountId));
  const visible = payee !== undefined && mayRequestInto(principal, payee);
  if (!config || !visible) throw new DomainError('merchant_config_not_found', `merchant configuration ${id} does not exist`);
  return config;
}

/** The merchant configurations of the org and mode the key may see, most recent first (at most 100). */
export async function listMerchantConfigs(deps: Deps, principal: Principal): Promise<MerchantConfig[]> {
  const all = await listRows(deps.store, principal.orgId, principal.mode, 100);
  const visible: MerchantConfig[] = [];
  for (const config of all) {
    const payee = await findAccount(deps.store, principal.orgId, principal.mode, config.payeeAccountId);
    if (payee && mayRequestInto(principal, payee)) visible.push(config);
  }
  return visible;
}
