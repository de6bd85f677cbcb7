/**
 * Migration `0003_evm`.
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
 * The EVM rail: wallet accounts (an `address`), on-chain payment details, the index of payment
 * references a chain watcher matches logs against, each chain's cursor and lease, the block
 * hashes it scanned (for reorgs), the logs it saw; and a webhook endpoint's `format`.
 */
export function evm(engine: Engine): Migration {
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
/* eslint-enable @typescript-eslint/no-explicit-any */
