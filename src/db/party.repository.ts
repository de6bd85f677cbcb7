/** Parties (users and legal entities): rows, mappers and look-ups. */
import type { Party } from '../domain/entities.js';
import type { Mode } from '../domain/payment-request.js';
import type { PartyRow } from './schema.js';
import type { Db } from './tx.js';

/** Maps a row to a {@link Party}. */
export function rowToParty(row: PartyRow): Party {
  return {
    id: row.id,
    orgId: row.org_id,
    mode: row.mode as Mode,
    type: row.type as Party['type'],
    username: row.username,
    phone: row.phone,
    email: row.email,
    name: row.name,
    merchant: row.merchant === null ? null : (JSON.parse(row.merchant) as Record<string, unknown>),
    number: Number(row.number),
    createdAt: Number(row.created_at),
  };
}

/** Inserts a party; a duplicate username or phone in the org and mode violates a unique index. */
export async function insertParty(tx: Db, party: Party): Promise<void> {
  await tx.db
    .insertInto('parties')
    .values({
      id: party.id,
      org_id: party.orgId,
      mode: party.mode,
      type: party.type,
      username: party.username,
      phone: party.phone,
      email: party.email,
      name: party.name,
      merchant: party.merchant === null ? null : JSON.stringify(party.merchant),
      number: party.number,
      created_at: party.createdAt,
    })
    .execute();
}

/** Finds a party in an org and mode by one unique key. */
export async function findParty(
  tx: Db,
  orgId: string,
  mode: Mode,
  by: { id: string } | { number: number } | { username: string } | { phone: string },
): Promise<Party | undefined> {
  const cacheKey = 'id' in by ? `${orgId}/${mode}/${by.id}` : undefined;
  const cached = cacheKey === undefined ? undefined : byId.get(cacheKey);
  if (cached) return cached;
  let query = tx.db.selectFrom('parties').selectAll().where('org_id', '=', orgId).where('mode', '=', mode);
  if ('id' in by) query = query.where('id', '=', by.id);
  else if ('number' in by) query = query.where('number', '=', by.number);
  else if ('username' in by) query = query.where('username', '=', by.username);
  else query = query.where('phone', '=', by.phone);
  const row = await query.executeTakeFirst();
  const party = row && rowToParty(row);
  if (party && cacheKey !== undefined) remember(cacheKey, party);
  return party;
}

// Parties are never updated or deleted, so a party read once is the party for good, in every
// process: lookups by id (each create reads its payee's and payer's) are kept, the least
// recently used out first. Only rows read are kept, never one being inserted.
const PARTY_CACHE_SIZE = 10_000;
const byId = new Map<string, Party>();
function remember(key: string, party: Party): void {
  byId.delete(key);
  byId.set(key, party);
  if (byId.size > PARTY_CACHE_SIZE) byId.delete(byId.keys().next().value as string);
}
