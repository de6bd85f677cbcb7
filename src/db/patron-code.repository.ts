/** Patron codes (Centrapay): a payer party's code that payment requests can be attached to. */
import type { PatronCode } from '../domain/entities.js';
import type { Mode } from '../domain/payment-request.js';
import type { PatronCodeRow } from './schema.js';
import type { Db } from './tx.js';

function rowToPatronCode(row: PatronCodeRow): PatronCode {
  return { id: row.id, orgId: row.org_id, mode: row.mode as Mode, partyId: row.party_id, createdAt: Number(row.created_at) };
}

/** Inserts a patron code. */
export async function insertPatronCode(tx: Db, c: PatronCode): Promise<void> {
  await tx.db.insertInto('patron_codes').values({ id: c.id, org_id: c.orgId, mode: c.mode, party_id: c.partyId, created_at: c.createdAt }).execute();
}

/** The patron code with this id in an org and mode, or undefined. */
export async function findPatronCode(tx: Db, orgId: string, mode: Mode, id: string): Promise<PatronCode | undefined> {
  const row = await tx.db.selectFrom('patron_codes').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('id', '=', id).executeTakeFirst();
  return row && rowToPatronCode(row);
}

/** The patron codes of these parties in an org and mode, most recent first. */
export async function listPatronCodes(tx: Db, orgId: string, mode: Mode, partyIds: readonly string[]): Promise<PatronCode[]> {
  if (partyIds.length === 0) return [];
  const rows = await tx.db.selectFrom('patron_codes').selectAll().where('org_id', '=', orgId).where('mode', '=', mode).where('party_id', 'in', partyIds).orderBy('id', 'desc').execute();
  return rows.map(rowToPatronCode);
}
