/**
 * Migration `0006_merchants_and_patrons`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts).
 */
import { type Kysely, type Migration, sql } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- a migration runs against the schema as it was, not as it is now */
/**
 * Merchant configurations (Centrapay's `configId`: which account receives and which asset types
 * are accepted), patron codes (Centrapay: a payer party's code a request can be attached to), an
 * optional signing secret per API key (AlphaPo's `X-Processing-Signature`), and a reference per
 * refund that makes a repeat of the same refund idempotent (Centrapay's `externalRef`).
 */
export function merchantsAndPatrons(): Migration {
  const time = 'bigint';
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable('merchant_configs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('payee_account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('asset_types', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('merchant_configs_org').on('merchant_configs').columns(['org_id', 'mode', 'id']).execute();
      await db.schema.createTable('patron_codes')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('party_id', 'text', (c) => c.notNull().references('parties.id'))
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('patron_codes_party').on('patron_codes').columns(['party_id', 'id']).execute();
      await db.schema.createIndex('payment_requests_patron_code').on('payment_requests').columns(['patron_code_id', 'id']).where(sql.ref('patron_code_id'), 'is not', null).execute();
      await db.schema.alterTable('api_keys').addColumn('signing_secret', 'text').execute();
      await db.schema.alterTable('refunds').addColumn('reference', 'text').execute();
      await db.schema.createIndex('refunds_reference').unique().on('refunds').columns(['payment_request_id', 'reference']).where(sql.ref('reference'), 'is not', null).execute();
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
