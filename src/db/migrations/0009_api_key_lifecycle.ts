/**
 * Migration `0009_api_key_lifecycle`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts).
 */
import { type Kysely, type Migration } from 'kysely';

/* eslint-disable @typescript-eslint/no-explicit-any -- a migration runs against the schema as it was, not as it is now */
/**
 * API key lifecycle (issue 12): an optional expiry and the time of last use, both epoch ms.
 */
export function apiKeyLifecycle(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('api_keys').addColumn('expires_at', 'bigint').execute();
      await db.schema.alterTable('api_keys').addColumn('last_used_at', 'bigint').execute();
      await db.schema.createIndex('api_keys_org').on('api_keys').columns(['org_id', 'mode', 'id']).execute();
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
