/**
 * Migrations, written with Kysely's schema builder and shared by SQLite and PostgreSQL.
 * Where a column type differs by engine it is branched in one helper ({@link columnTypes}).
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, type RawBuilder, sql } from 'kysely';
import { createNumberSequences } from './number.repository.js';
import type { Database } from './schema.js';

/** The database engines Payreq runs on. */
export type Engine = 'sqlite' | 'postgres';

/**
 * The amount column type, the one type that differs by engine: `NUMERIC(78,0)` on PostgreSQL
 * (every uint256 fits) and `TEXT` on SQLite (docs/design.md#money). Arithmetic happens in code.
 */
export function amountColumnType(engine: Engine): RawBuilder<unknown> {
  return engine === 'postgres' ? sql`numeric(78, 0)` : sql`text`;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- migrations run against the schema as it was, not as it is now */
function initial(engine: Engine): Migration {
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
/** Webhooks: endpoints, deliveries (the outbox rows a dispatcher claims) and attempts; events not tied to a request. */
function webhooks(engine: Engine): Migration {
  const time = 'bigint';
  return {
    async up(db: Kysely<any>) {
      // An event may belong to no payment request (webhook_endpoint.disabled): the column
      // becomes nullable. SQLite cannot alter a column, so there the table is rebuilt.
      if (engine === 'postgres') {
        await db.schema.alterTable('events').alterColumn('payment_request_id', (c) => c.dropNotNull()).execute();
      } else {
        await db.schema.createTable('events_new')
          .addColumn('id', 'text', (c) => c.primaryKey())
          .addColumn('org_id', 'text', (c) => c.notNull())
          .addColumn('mode', 'text', (c) => c.notNull())
          .addColumn('payment_request_id', 'text')
          .addColumn('type', 'text', (c) => c.notNull())
          .addColumn('sequence', 'integer', (c) => c.notNull())
          .addColumn('data', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .execute();
        await sql`insert into events_new select id, org_id, mode, payment_request_id, type, sequence, data, created_at from events`.execute(db);
        await db.schema.dropTable('events').execute();
        await db.schema.alterTable('events_new').renameTo('events').execute();
        await db.schema.createIndex('events_request_sequence').unique().on('events').columns(['payment_request_id', 'sequence']).execute();
        await db.schema.createIndex('events_org').on('events').columns(['org_id', 'mode', 'id']).execute();
      }
      await db.schema.createIndex('events_org_time').on('events').columns(['org_id', 'mode', 'created_at']).execute();

      await db.schema.createTable('webhook_endpoints')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull().references('orgs.id'))
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('description', 'text')
        .addColumn('enabled_events', 'text', (c) => c.notNull())
        .addColumn('disabled', 'integer', (c) => c.notNull())
        .addColumn('disabled_reason', 'text')
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('previous_secret', 'text')
        .addColumn('previous_secret_until', time)
        .addColumn('failing_since', time)
        .addColumn('deleted_at', time)
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_endpoints_org').on('webhook_endpoints').columns(['org_id', 'mode', 'id']).execute();

      await db.schema.createTable('webhook_deliveries')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('event_id', 'text', (c) => c.notNull().references('events.id'))
        .addColumn('endpoint_id', 'text', (c) => c.notNull().references('webhook_endpoints.id'))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('next_attempt_at', time, (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_until', time)
        .addColumn('last_status_code', 'integer')
        .addColumn('last_error', 'text')
        .addColumn('delivered_at', time)
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_deliveries_due').on('webhook_deliveries').columns(['status', 'next_attempt_at']).execute();
      await db.schema.createIndex('webhook_deliveries_endpoint').on('webhook_deliveries').columns(['endpoint_id', 'id']).execute();
      await db.schema.createIndex('webhook_deliveries_event').on('webhook_deliveries').columns(['event_id']).execute();

      await db.schema.createTable('webhook_attempts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('delivery_id', 'text', (c) => c.notNull().references('webhook_deliveries.id'))
        .addColumn('endpoint_id', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('status_code', 'integer')
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('response_body', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').columns(['delivery_id', 'attempt']).execute();
    },
  };
}
/**
 * The EVM rail: wallet accounts (an `address`), on-chain payment details, the index of payment
 * references a chain watcher matches logs against, each chain's cursor and lease, the block
 * hashes it scanned (for reorgs), the logs it saw; and a webhook endpoint's `format`.
 */
function evm(engine: Engine): Migration {
  const time = 'bigint';
  const amountType = amountColumnType(engine);
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('accounts').addColumn('address', 'text').execute();
      await db.schema.createIndex('accounts_wallet_address').unique().on('accounts')
        .columns(['org_id', 'mode', 'currency', 'address'])
        .where(sql.ref('address'), 'is not', null)
        .execute();
      await db.schema.alterTable('payments').addColumn('chain', 'text').execute();
      await db.schema.alterTable('webhook_endpoints').addColumn('format', 'text', (c) => c.notNull().defaultTo('standard')).execute();

      await db.schema.createTable('chain_references')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('payment_request_id', 'text', (c) => c.notNull().references('payment_requests.id'))
        .addColumn('currency', 'text', (c) => c.notNull())
        .addColumn('chain_id', 'integer', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('proxy_address', 'text', (c) => c.notNull())
        .addColumn('token_address', 'text', (c) => c.notNull())
        .addColumn('to_address', 'text', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('topic', 'text', (c) => c.notNull())
        .addColumn('listening_since', time)
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('chain_references_topic').on('chain_references').columns(['chain_id', 'topic']).execute();
      await db.schema.createIndex('chain_references_reference').on('chain_references').columns(['org_id', 'mode', 'reference']).execute();
      await db.schema.createIndex('chain_references_request').on('chain_references').columns(['payment_request_id']).execute();

      await db.schema.createTable('chain_cursors')
        .addColumn('chain_id', 'integer', (c) => c.primaryKey())
        .addColumn('network', 'text', (c) => c.notNull())
        .addColumn('last_scanned', time)
        .addColumn('lease_holder', 'text')
        .addColumn('lease_until', time)
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      await db.schema.createTable('chain_blocks')
        .addColumn('chain_id', 'integer', (c) => c.notNull())
        .addColumn('number', time, (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('chain_blocks_pk', ['chain_id', 'number'])
        .execute();

      await db.schema.createTable('chain_logs')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('chain_id', 'integer', (c) => c.notNull())
        .addColumn('tx_hash', 'text', (c) => c.notNull())
        .addColumn('log_index', 'integer', (c) => c.notNull())
        .addColumn('block_number', time, (c) => c.notNull())
        .addColumn('block_hash', 'text', (c) => c.notNull())
        .addColumn('reference_id', 'text', (c) => c.notNull().references('chain_references.id'))
        .addColumn('from_address', 'text')
        .addColumn('token_address', 'text', (c) => c.notNull())
        .addColumn('to_address', 'text', (c) => c.notNull())
        .addColumn('amount', amountType, (c) => c.notNull())
        .addColumn('fee_amount', amountType, (c) => c.notNull())
        .addColumn('fee_address', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('payment_id', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('chain_logs_identity').unique().on('chain_logs').columns(['chain_id', 'tx_hash', 'log_index']).execute();
      await db.schema.createIndex('chain_logs_status').on('chain_logs').columns(['chain_id', 'status', 'block_number']).execute();
    },
  };
}
/**
 * Integer `number`s for parties, party accounts and payment requests, per org and mode, for
 * the providers that speak in integer ids (Pismo accounts; DeltaPay users, legal entities,
 * accounts and payment requests). Allocated from `number_counters`; existing rows are numbered
 * in creation (id) order.
 */
function numbers(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.createTable('number_counters')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('last', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('number_counters_pk', ['org_id', 'mode', 'kind'])
        .execute();
      for (const [table, kind, where] of [['parties', 'party', sql``], ['accounts', 'account', sql`where party_id is not null`], ['payment_requests', 'payment_request', sql``]] as const) {
        await db.schema.alterTable(table).addColumn('number', 'bigint').execute();
        await sql`update ${sql.table(table)} set number = numbered.n from (select id, row_number() over (partition by org_id, mode order by id) as n from ${sql.table(table)} ${where}) as numbered where ${sql.table(table)}.id = numbered.id`.execute(db);
        await sql`insert into number_counters (org_id, mode, kind, last) select org_id, mode, ${kind}, max(number) from ${sql.table(table)} where number is not null group by org_id, mode`.execute(db);
        await db.schema.createIndex(`${table}_number`).unique().on(table).columns(['org_id', 'mode', 'number']).where(sql.ref('number'), 'is not', null).execute();
      }
    },
  };
}
/**
 * Who a request is between, as it was at creation (party numbers, types and names, the payee
 * account's number), so that events carry it for the dialects' notifications; an optional
 * account scope on webhook endpoints (DeltaPay's per-account callback URLs); and the request and
 * sequence of each delivery, for in-order delivery.
 */
function partiesAndScopes(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('payment_requests').addColumn('parties', 'text').execute();
      await db.schema.alterTable('webhook_endpoints').addColumn('account_id', 'text').execute();
      // A request's events reach each endpoint in sequence order: a delivery waits while an
      // earlier one of the same request to the same endpoint is pending (found by this index).
      await db.schema.alterTable('webhook_deliveries').addColumn('payment_request_id', 'text').execute();
      await db.schema.alterTable('webhook_deliveries').addColumn('sequence', 'integer').execute();
      await db.schema.createIndex('webhook_deliveries_order').on('webhook_deliveries')
        .columns(['endpoint_id', 'payment_request_id', 'sequence'])
        .where(sql.ref('status'), '=', 'pending')
        .execute();
    },
  };
}
/**
 * Merchant configurations (Centrapay's `configId`: which account receives and which asset types
 * are accepted), patron codes (Centrapay: a payer party's code a request can be attached to), an
 * optional signing secret per API key (AlphaPo's `X-Processing-Signature`), and a reference per
 * refund that makes a repeat of the same refund idempotent (Centrapay's `externalRef`).
 */
function merchantsAndPatrons(): Migration {
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
/**
 * PostgreSQL numbers payment requests from a sequence per org and mode (number.repository.ts),
 * so that concurrent creates do not queue on the org's counter row: one for every org there is,
 * continuing above the numbers already given. New orgs get theirs when they are inserted.
 */
function requestNumberSequences(engine: Engine): Migration {
  return {
    async up(db: Kysely<any>) {
      if (engine !== 'postgres') return;
      const orgs = (await db.selectFrom('orgs').select('id').execute()) as { id: string }[];
      for (const org of orgs) await createNumberSequences({ db: db as Kysely<Database>, engine }, org.id);
    },
  };
}
/**
 * Idempotency claims that lapse (issue 12): a claim carries the token of the attempt holding it
 * and the time (epoch ms) until which it is held. A claim left `in_progress` by a process that
 * died is taken over once `locked_until` passes; rows from before this migration have none and
 * count as lapsed at once.
 */
function idempotencyClaims(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('idempotency_keys').addColumn('claim_token', 'text').execute();
      await db.schema.alterTable('idempotency_keys').addColumn('locked_until', 'bigint').execute();
    },
  };
}
/**
 * API key lifecycle (issue 12): an optional expiry and the time of last use, both epoch ms.
 */
function apiKeyLifecycle(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('api_keys').addColumn('expires_at', 'bigint').execute();
      await db.schema.alterTable('api_keys').addColumn('last_used_at', 'bigint').execute();
      await db.schema.createIndex('api_keys_org').on('api_keys').columns(['org_id', 'mode', 'id']).execute();
    },
  };
}
/**
 * Idempotency keys per API key, with sealed answers, and AlphaPo's signature replays (issue 19):
 * `idempotency_keys` gains `api_key_id` in its primary key (an answer belongs to the credential
 * that sent the key) and its `response_body` is sealed from now on. Rows from before held their
 * answers in plain text, secrets shown once among them, and name no API key: they are all
 * deleted (docs/api.md, "Idempotency keys": a retry of a request answered before the upgrade
 * runs again). On SQLite `secure_delete` is on for the purge, so that the freed pages are
 * overwritten with zeros rather than left in the file; `created_at` is indexed for the sweeper
 * that deletes records past their 24 hours. `alphapo_signatures` keeps the digests of
 * the signatures that created requests (docs/dialects/alphapo.md, "Replays").
 */
function idempotencyPerKey(engine: Engine): Migration {
  return {
    async up(db: Kysely<any>) {
      const secureDelete = engine === 'sqlite' ? (await sql<{ secure_delete: number }>`pragma secure_delete`.execute(db)).rows[0]?.secure_delete ?? 0 : 0;
      if (engine === 'sqlite') await sql`pragma secure_delete = on`.execute(db);
      await db.deleteFrom('idempotency_keys').execute();
      await db.schema.dropTable('idempotency_keys').execute();
      if (engine === 'sqlite') await sql.raw(`pragma secure_delete = ${secureDelete === 1 ? 'on' : 'off'}`).execute(db);
      await db.schema.createTable('idempotency_keys')
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('api_key_id', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('response_status', 'integer')
        .addColumn('response_body', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('claim_token', 'text')
        .addColumn('locked_until', 'bigint')
        .addPrimaryKeyConstraint('idempotency_keys_pk', ['org_id', 'mode', 'api_key_id', 'key'])
        .execute();
      // The sweeper deletes records past their 24 hours by this index.
      await db.schema.createIndex('idempotency_keys_created').on('idempotency_keys').column('created_at').execute();
      await db.schema.createTable('alphapo_signatures')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('org_id', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('alphapo_signatures_created').on('alphapo_signatures').columns(['org_id', 'mode', 'created_at']).execute();
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * Dialect data in its own column (issue 20, docs/api.md "Metadata"): `payment_requests` gains
 * `dialect_data` (JSON text, keyed by dialect name), and the keys the dialects used to keep in the
 * caller's `metadata` move into it, on the requests and on the request snapshots stored in
 * `events.data` (whose `paymentRequest.metadata` loses them and which gain `dialectData`, as new
 * events carry it). Frozen: it imports nothing but Kysely, and names each key as the dialects
 * wrote it before this migration:
 * - `_pismo` (an object with `location`) → `pismo: {location}`;
 * - `_deltapay_metadata` (a string) and `_deltapay_timeout` (a number) → `deltapay: {metadata, timeout}`;
 * - `_centrapay` (an object of Centrapay fields) and `_centrapayExternalRef` (a string) →
 *   `centrapay: {...fields, externalRef}`;
 * - `requestNetwork` → `request-network`, only where the dialect wrote it: the metadata holds that
 *   one key, an object with a string `paymentCurrency` and no key the dialect never wrote. The name
 *   has no underscore, so a /v1 caller may well use it for its own data; such metadata stays put
 *   (docs/dialects/request-network.md, "Stored fields").
 * A key of another type than the dialect wrote is the caller's and stays. Metadata left empty
 * becomes NULL, as a dialect's create without caller metadata stores it. Rows are read in
 * batches of 500 by id, only those whose text names one of the keys.
 */
function dialectDataColumn(): Migration {
  type Json = Record<string, unknown>;
  const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  const requestNetworkKeys = new Set(['paymentCurrency', 'payer', 'recurrence', 'customerInfo', 'reference', 'originalRequestId', 'originalRequestPaymentReference']);
  /** The metadata without the dialects' keys, and what they held by dialect; undefined when none is there. */
  function split(metadata: Json): { metadata: Json | null; dialectData: Record<string, Json> } | undefined {
    const rest: Json = { ...metadata };
    const data: Record<string, Json> = {};
    const pismo = rest['_pismo'];
    if (isObject(pismo) && 'location' in pismo) {
      data['pismo'] = { location: pismo['location'] };
      delete rest['_pismo'];
    }
    const deltapay: Json = {};
    if (typeof rest['_deltapay_metadata'] === 'string') {
      deltapay['metadata'] = rest['_deltapay_metadata'];
      delete rest['_deltapay_metadata'];
    }
    if (typeof rest['_deltapay_timeout'] === 'number') {
      deltapay['timeout'] = rest['_deltapay_timeout'];
      delete rest['_deltapay_timeout'];
    }
    if (Object.keys(deltapay).length > 0) data['deltapay'] = deltapay;
    const centrapay: Json = {};
    const fields = rest['_centrapay'];
    if (isObject(fields)) {
      Object.assign(centrapay, fields);
      delete rest['_centrapay'];
    }
    if (typeof rest['_centrapayExternalRef'] === 'string') {
      centrapay['externalRef'] = rest['_centrapayExternalRef'];
      delete rest['_centrapayExternalRef'];
    }
    if (Object.keys(centrapay).length > 0) data['centrapay'] = centrapay;
    const rn = rest['requestNetwork'];
    if (Object.keys(rest).length === 1 && isObject(rn) && typeof rn['paymentCurrency'] === 'string' && Object.keys(rn).every((k) => requestNetworkKeys.has(k))) {
      data['request-network'] = { ...rn };
      delete rest['requestNetwork'];
    }
    if (Object.keys(data).length === 0) return undefined;
    return { metadata: Object.keys(rest).length === 0 ? null : rest, dialectData: data };
  }
  const named = (column: string) => ['%"_pismo"%', '%"_deltapay_metadata"%', '%"_deltapay_timeout"%', '%"_centrapay"%', '%"_centrapayExternalRef"%', '%"requestNetwork"%'].map((pattern) => sql<boolean>`${sql.ref(column)} like ${pattern}`);
  const BATCH = 500;
  return {
    /* eslint-disable @typescript-eslint/no-explicit-any -- the schema as it was at 0011 */
    async up(db: Kysely<any>) {
      await db.schema.alterTable('payment_requests').addColumn('dialect_data', 'text').execute();
      for (let after = ''; ;) {
        const rows = (await db.selectFrom('payment_requests').select(['id', 'metadata']).where('id', '>', after).where((eb) => eb.or(named('metadata'))).orderBy('id').limit(BATCH).execute()) as { id: string; metadata: string }[];
        for (const row of rows) {
          const parsed: unknown = JSON.parse(row.metadata);
          const moved = isObject(parsed) ? split(parsed) : undefined;
          if (moved === undefined) continue;
          await db.updateTable('payment_requests').set({ metadata: moved.metadata === null ? null : JSON.stringify(moved.metadata), dialect_data: JSON.stringify(moved.dialectData) }).where('id', '=', row.id).execute();
        }
        if (rows.length < BATCH) break;
        after = rows[rows.length - 1]!.id;
      }
      for (let after = ''; ;) {
        const rows = (await db.selectFrom('events').select(['id', 'data']).where('id', '>', after).where((eb) => eb.or(named('data'))).orderBy('id').limit(BATCH).execute()) as { id: string; data: string }[];
        for (const row of rows) {
          const data: unknown = JSON.parse(row.data);
          if (!isObject(data) || !isObject(data['paymentRequest']) || !isObject(data['paymentRequest']['metadata'])) continue;
          const moved = split(data['paymentRequest']['metadata']);
          if (moved === undefined) continue;
          const next = { ...data, paymentRequest: { ...data['paymentRequest'], metadata: moved.metadata }, dialectData: moved.dialectData };
          await db.updateTable('events').set({ data: JSON.stringify(next) }).where('id', '=', row.id).execute();
        }
        if (rows.length < BATCH) break;
        after = rows[rows.length - 1]!.id;
      }
    },
    /* eslint-enable @typescript-eslint/no-explicit-any */
  };
}

/** The migrations for `engine`, keyed and ordered by name. */
export function migrations(engine: Engine): Record<string, Migration> {
  return { '0001_initial': initial(engine), '0002_webhooks': webhooks(engine), '0003_evm': evm(engine), '0004_numbers': numbers(), '0005_parties_and_scopes': partiesAndScopes(), '0006_merchants_and_patrons': merchantsAndPatrons(), '0007_request_number_sequences': requestNumberSequences(engine), '0008_idempotency_claims': idempotencyClaims(), '0009_api_key_lifecycle': apiKeyLifecycle(), '0010_idempotency_per_key': idempotencyPerKey(engine), '0011_dialect_data': dialectDataColumn() };
}

/**
 * Runs every pending migration.
 * @param schema - on PostgreSQL, the schema that holds Payreq's tables (default `public`); the
 *   migration bookkeeping lives there too, so that databases with several Payreq schemas keep
 *   their histories apart.
 * @throws Error with the failing migration's cause when one fails (nothing after it runs).
 */
export async function migrateToLatest(db: Kysely<unknown>, engine: Engine, schema?: string): Promise<string[]> {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(migrations(engine)) };
  const migrator = new Migrator({ db, provider, ...(engine === 'postgres' ? { migrationTableSchema: schema ?? 'public' } : {}) });
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator.migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // Kysely's migrator looks for its tables by reading every schema's columns, with
    // has_schema_privilege(name) on each: a schema another client drops during that read answers
    // 3F000 (invalid_schema_name) though it is not ours. Nothing ran; read again.
    if (!(engine === 'postgres' && attempt < 5 && (error as { code?: unknown }).code === '3F000')) throw new Error('migration failed', { cause: error });
    await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
  }
}
