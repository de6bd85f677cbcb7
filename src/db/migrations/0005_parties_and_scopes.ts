/**
 * Migration `0005_parties_and_scopes`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts).
 */
import { type Kysely, type Migration, sql } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- a migration runs against the schema as it was, not as it is now */
/**
 * Who a request is between, as it was at creation (party numbers, types and names, the payee
 * account's number), so that events carry it for the dialects' notifications; an optional
 * account scope on webhook endpoints (DeltaPay's per-account callback URLs); and the request and
 * sequence of each delivery, for in-order delivery.
 */
export function partiesAndScopes(): Migration {
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
/* eslint-enable @typescript-eslint/no-explicit-any */
