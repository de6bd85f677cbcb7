/**
 * Migration `0007_request_number_sequences`.
 *
 * Frozen: it never changes once released, and it imports nothing but Kysely (the rule and why:
 * src/db/migrations/index.ts). The sequences' name and starting value are copied here from
 * src/db/number.repository.ts as they were when this migration was written; the live code may
 * move on, this copy does not.
 */
import { type Kysely, type Migration, sql } from 'kysely';

/** The database engines, as this migration knows them. */
type Engine = 'sqlite' | 'postgres';

/** The modes an org's numbers are kept apart by. */
const MODES = ['test', 'live'] as const;

/**
 * `payment_request_numbers_<org id as 32 hex digits>_<mode>` (61 characters at the most, within
 * PostgreSQL's 63).
 * @throws Error when `orgId` is not a UUID.
 */
function paymentRequestSequence(orgId: string, mode: (typeof MODES)[number]): string {
  const hex = orgId.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) throw new Error(`org id ${orgId} is not a UUID`);
  return `payment_request_numbers_${hex}_${mode}`;
}

/* eslint-disable @typescript-eslint/no-explicit-any -- a migration runs against the schema as it was, not as it is now */
/**
 * An org's payment request number sequences, one per mode, each continuing above the largest
 * number the org's counter row or its requests already hold. Idempotent.
 */
async function createNumberSequences(db: Kysely<any>, orgId: string): Promise<void> {
  for (const mode of MODES) {
    const name = paymentRequestSequence(orgId, mode);
    await sql`create sequence if not exists ${sql.id(name)}`.execute(db);
    await sql`
      select setval(${name}::regclass, used.last)
      from (select greatest(
        (select last from number_counters where org_id = ${orgId} and mode = ${mode} and kind = 'payment_request'),
        (select max(number) from payment_requests where org_id = ${orgId} and mode = ${mode})) as last) as used
      where used.last >= 1`.execute(db);
  }
}

/**
 * PostgreSQL numbers payment requests from a sequence per org and mode (src/db/number.repository.ts),
 * so that concurrent creates do not queue on the org's counter row: one for every org there is,
 * continuing above the numbers already given. New orgs get theirs when they are inserted.
 */
export function requestNumberSequences(engine: Engine): Migration {
  return {
    async up(db: Kysely<any>) {
      if (engine !== 'postgres') return;
      const orgs = (await db.selectFrom('orgs').select('id').execute()) as { id: string }[];
      for (const org of orgs) await createNumberSequences(db, org.id);
    },
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */
