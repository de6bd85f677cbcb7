/**
 * Migration `0001_initial`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts).
 */
import { type Kysely, type Migration, type RawBuilder, sql } from 'kysely';

/** The database engines, as this migration knows them. */
type Engine = 'sqlite' | 'postgres';

/**
 * The amount column type, the one type that differs by engine: `NUMERIC(78,0)` on PostgreSQL
 * (every uint256 fits) and `TEXT` on SQLite. Arithmetic happens in code.
 */
function amountColumnType(engine: Engine): RawBuilder<unknown> {
  return engine === 'postgres' ? sql`numeric(78, 0)` : sql`text`;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- a migration runs against the schema as it was, not as it is now */
/**
 * The first schema: orgs, API keys, parties, accounts, the ledger (transfers and entries),
 * payment requests, payments, refunds, events and idempotency keys. Times are epoch
 * milliseconds on both engines.
 */
export function initial(engine: Engine): Migration {
  // Times are epoch milliseconds on both engines.
  const time = 'bigint';
  const amountType = amountColumnType(engine);
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable('orgs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();

      await db.schema.createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('name', 'text')
        .addColumn('prefix', 'text', (c) => c.notNull())
        .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
        .addColumn('grants', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('revoked_at', time)
        .execute();

      await db.schema.createTable('parties')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('username', 'text')
        .addColumn('phone', 'text')
        .addColumn('email', 'text')
        .addColumn('name', 'text')
        .addColumn('merchant', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('parties_username').unique().on('parties').columns(['org_id', 'mode', 'username']).execute();
      await db.schema.createIndex('parties_phone').unique().on('parties').columns(['org_id', 'mode', 'phone']).execute();

      await db.schema.createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('party_id', 'text', (c) => c.references('parties.id'))
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('balance', amountType, (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('system_purpose', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('accounts_party').on('accounts').columns(['party_id']).execute();
      await db.schema.createIndex('accounts_system').unique().on('accounts')
        .columns(['org_id', 'mode', 'currency', 'system_purpose'])
        .where(sql.ref('system_purpose'), 'is not', null)
        .execute();

      await db.schema.createTable('ledger_transfers')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('payment_request_id', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();

      await db.schema.createTable('ledger_entries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('transfer_id', 'text', (c) => c.notNull().references('ledger_transfers.id'))
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('amount', amountType, (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ledger_entries_account').on('ledger_entries').columns(['account_id', 'id']).execute();
      await db.schema.createIndex('ledger_entries_transfer').on('ledger_entries').columns(['transfer_id']).execute();

      await db.schema.createTable('payment_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('amount', amountType, (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('payee_account_id', 'text', (c) => c.notNull().references('accounts.id'))
        .addColumn('payee_party_id', 'text', (c) => c.notNull())
        .addColumn('payer_account_id', 'text')
        .addColumn('payer_party_id', 'text')
        .addColumn('payment_options', 'text', (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('metadata', 'text')
        .addColumn('external_id', 'text')
        .addColumn('line_items', 'text')
        .addColumn('customer', 'text')
        .addColumn('redirect_urls', 'text')
        .addColumn('merchant', 'text')
        .addColumn('patron_code_id', 'text')
        .addColumn('transaction_type', 'text')
        .addColumn('till_id', 'text')
        .addColumn('amount_paid', amountType, (c) => c.notNull())
        .addColumn('amount_refunded', amountType, (c) => c.notNull())
        .addColumn('paid_at', time)
        .addColumn('failure_reason', 'text')
        .addColumn('code', 'text', (c) => c.notNull().unique())
        .addColumn('payment_reference', 'text', (c) => c.notNull())
        .addColumn('salt', 'text', (c) => c.notNull())
        .addColumn('sequence', 'integer', (c) => c.notNull())
        .addColumn('status_cause', 'text')
        .addColumn('status_actor', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('payment_requests_org_id').on('payment_requests').columns(['org_id', 'mode', 'id']).execute();
      await db.schema.createIndex('payment_requests_external_id').unique().on('payment_requests')
        .columns(['org_id', 'mode', 'external_id'])
        .where(sql.ref('external_id'), 'is not', null)
        .execute();
      await db.schema.createIndex('payment_requests_payee_account').on('payment_requests').columns(['payee_account_id', 'id']).execute();
      await db.schema.createIndex('payment_requests_payee_party').on('payment_requests').columns(['payee_party_id', 'id']).execute();
      await db.schema.createIndex('payment_requests_payer_party').on('payment_requests').columns(['payer_party_id', 'id']).execute();
      await db.schema.createIndex('payment_requests_payer_account').on('payment_requests').columns(['payer_account_id', 'id']).execute();
      await db.schema.createIndex('payment_requests_reference').on('payment_requests').columns(['payment_reference']).execute();
      await db.schema.createIndex('payment_requests_due').on('payment_requests').columns(['status', 'expires_at']).execute();

      await db.schema.createTable('payments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('payment_request_id', 'text', (c) => c.notNull().references('payment_requests.id'))
        .addColumn('rail', 'text', (c) => c.notNull())
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('amount', amountType, (c) => c.notNull())
        .addColumn('applied_amount', amountType, (c) => c.notNull())
        .addColumn('amount_refunded', amountType, (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('payer_account_id', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('payments_reference').unique().on('payments').columns(['org_id', 'mode', 'rail', 'reference']).execute();
      await db.schema.createIndex('payments_request').on('payments').columns(['payment_request_id']).execute();

      await db.schema.createTable('refunds')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('payment_request_id', 'text', (c) => c.notNull().references('payment_requests.id'))
        .addColumn('amount', amountType, (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('created_by', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('refunds_request').on('refunds').columns(['payment_request_id']).execute();

      await db.schema.createTable('events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('payment_request_id', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('sequence', 'integer', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('events_request_sequence').unique().on('events').columns(['payment_request_id', 'sequence']).execute();
      await db.schema.createIndex('events_org').on('events').columns(['org_id', 'mode', 'id']).execute();

      await db.schema.createTable('idempotency_keys')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['org_id', 'mode', 'key'])
        .execute();
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
