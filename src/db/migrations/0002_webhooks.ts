/**
 * Migration `0002_webhooks`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts).
 */
import { type Kysely, type Migration, sql } from 'kysely';

/** The database engines, as this migration knows them. */
type Engine = 'sqlite' | 'postgres';

/* eslint-disable @typescript-eslint/no-explicit-any -- a migration runs against the schema as it was, not as it is now */
/** Webhooks: endpoints, deliveries (the outbox rows a dispatcher claims) and attempts; events not tied to a request. */
export function webhooks(engine: Engine): Migration {
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
/* eslint-enable @typescript-eslint/no-explicit-any */
