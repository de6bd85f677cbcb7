/** Merchant configurations (Centrapay's `configId`): rows, mapper and look-ups. */
import type { MerchantConfig } from '../domain/entities.js';
import type { Mode } from '../domain/payment-request.js';
import type { MerchantConfigRow } from './schema.js';
import type { Db } from './tx.js';

function rowToMerchantConfig(row: MerchantConfigRow): MerchantConfig {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    name: row.name,
    payeeAccountId: row.payee_account_id,
    assetTypes: JSON.parse(row.asset_types) as string[],
    createdAt: Number(row.created_at),
  };
}

/** Inserts a merchant configuration. */
export async function insertMerchantConfig(tx: Db, c: MerchantConfig): Promise<void> {
  await tx.db
    .insertInto('merchant_configs')
    .values({ id: c.id, org_id: c.orgId, mode: c.mode, name: c.name, payee_account_id: c.payeeAccountId, asset_types: JSON.stringify(c.assetTypes), created_at: c.createdAt })
    .execute();
}

/** The merchant configuration with this id in an org and mode, or undefined. */
export async function findMerchantConfig(tx: Db, orgId: string, mode: Mode, id: string): Promise<MerchantConfig | undefined> {
  const row = await tx.db.selectFrom('merchant_configs').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('id', '=', id).executeTakeFirst();
  return row && rowToMerchantConfig(row);
}

/** The merchant configurations of an org and mode, most recent first, at most `limit`. */
export async function listMerchantConfigs(tx: Db, orgId: string, mode: Mode, limit: number): Promise<MerchantConfig[]> {
  const rows = await tx.db.selectFrom('merchant_configs').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).orderBy('id', 'desc').limit(limit).execute();
  return rows.map(rowToMerchantConfig);
}
