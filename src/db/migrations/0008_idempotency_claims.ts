/**
 * Migration `0008_idempotency_claims`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts).
 */
import { type Kysely, type Migration } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- a migration runs against the schema as it was, not as it is now */
/**
 * Idempotency claims that lapse (issue 12): a claim carries the token of the attempt holding it
 * and the time (epoch ms) until which it is held. A claim left `in_progress` by a process that
 * died is taken over once `locked_until` passes; rows from before this migration have none and
 * count as lapsed at once.
 */
export function idempotencyClaims(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('idempotency_keys').addColumn('claim_token', 'text').execute();
      await db.schema.alterTable('idempotency_keys').addColumn('locked_until', 'bigint').execute();
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
