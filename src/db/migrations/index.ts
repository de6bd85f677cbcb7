/**
 * Every migration, by the name Kysely's Migrator records in `kysely_migration`, for both SQLite
 * and PostgreSQL (src/db/migrate.ts runs them).
 *
 * A migration never changes once released: a database that already ran it will not run it
 * again, so an edit would leave old and new databases with different schemas. A change to the
 * schema is a new migration. And a migration depends on nothing but Kysely: no repository, no
 * helper from the live code, whose later changes would change what an old migration does
 * ("migrations should never depend on the current code of your app",
 * https://kysely.dev/docs/migrations). What a migration needs from elsewhere is copied into its
 * file, as it was then. test/meta/migrations-frozen.test.ts checks the imports and the names.
 *
 * To add a migration:
 * 1. write `NNNN_what_it_does.ts` in this folder (the next number): one exported function
 *    returning a Kysely `Migration`, taking the engine when the SQL differs by engine, with
 *    everything it needs inside the file;
 * 2. import it below and add one line at the end of {@link migrations} (the key is the name
 *    recorded in `kysely_migration`: the file's name without `.ts`);
 * 3. update src/db/schema.ts to match;
 * 4. append `[name, hash]` to `RELEASED` in test/meta/migrations-frozen.test.ts (with a wrong
 *    hash the test names the right one), after which the file never changes again.
 */
import type { Migration } from 'kysely';
import { initial } from './0001_initial.js';
import { webhooks } from './0002_webhooks.js';
import { evm } from './0003_evm.js';
import { numbers } from './0004_numbers.js';
import { partiesAndScopes } from './0005_parties_and_scopes.js';
import { merchantsAndPatrons } from './0006_merchants_and_patrons.js';
import { requestNumberSequences } from './0007_request_number_sequences.js';
import { idempotencyClaims } from './0008_idempotency_claims.js';
import { apiKeyLifecycle } from './0009_api_key_lifecycle.js';
import { idempotencyPerKey } from './0010_idempotency_per_key.js';
import { dialectData } from './0011_dialect_data.js';

/**
 * The migrations for `engine` (`'sqlite' | 'postgres'`, src/db/engine.ts), keyed by the name
 * stored in `kysely_migration`; Kysely runs them in the order of their names.
 */
export function migrations(engine: 'sqlite' | 'postgres'): Record<string, Migration> {
  return {
    '0001_initial': initial(engine),
    '0002_webhooks': webhooks(engine),
    '0003_evm': evm(engine),
    '0004_numbers': numbers(),
    '0005_parties_and_scopes': partiesAndScopes(),
    '0006_merchants_and_patrons': merchantsAndPatrons(),
    '0007_request_number_sequences': requestNumberSequences(engine),
    '0008_idempotency_claims': idempotencyClaims(),
    '0009_api_key_lifecycle': apiKeyLifecycle(),
    '0010_idempotency_per_key': idempotencyPerKey(engine),
    '0011_dialect_data': dialectData(),
  };
}
