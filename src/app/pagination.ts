/** Cursor pagination shared by every list: fetch `limit + 1` rows, keep `limit`, the extra row tells `hasMore`. */

/** A page of results. `nextCursor` is the id to pass as `cursor` (or `after`) for the next page. */
export interface Page<T> {
  data: T[];
  hasMore: boolean;
  nextCursor: string | null;
}

/**
 * Turns up to `limit + 1` rows, in list order, into a page of at most `limit`.
 * @param idOf - the cursor of a row (its id by default).
 */
export function toPage<R, T = R>(rows: R[], limit: number, map: (row: R) => T = (row) => row as unknown as T, idOf: (row: R) => string = (row) => (row as { id: string }).id): Page<T> {
  const hasMore = rows.length > limit;
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1];
  return { data: kept.map(map), hasMore, nextCursor: hasMore && last !== undefined ? idOf(last) : null };
}
