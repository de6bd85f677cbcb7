/**
 * Ids drawn from the pooled random source: UUIDv7 as the `uuid` package validates it,
 * increasing within the process (even many in one millisecond), and random bytes that do not
 * repeat across pool refills.
 */
import { validate, version } from 'uuid';
import { describe, expect, it } from 'vitest';
import { newCode, newId, newSalt, randomPoolBytes } from '../../src/domain/ids.js';

describe('ids', () => {
  it('makes valid UUIDv7 ids that strictly increase, 20,000 in a burst', () => {
    const ids = Array.from({ length: 20_000 }, () => newId());
    for (const id of ids) {
      expect(validate(id)).toBe(true);
      expect(version(id)).toBe(7);
    }
    for (let i = 1; i < ids.length; i++) expect((ids[i] as string) > (ids[i - 1] as string)).toBe(true);
    // The time field is the clock's, within the burst.
    const ms = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(Math.abs(ms(ids[0] as string) - Date.now())).toBeLessThan(5_000);
  });

  it('hands out each pooled random byte once, across refills, as copies', () => {
    const seen = new Set<string>();
    const first = randomPoolBytes(16);
    const copy = Uint8Array.from(first);
    for (let i = 0; i < 2_000; i++) seen.add(Buffer.from(randomPoolBytes(16)).toString('hex'));
    expect(seen.size).toBe(2_000);
    // 2,000 × 16 bytes refilled the pool several times; an earlier result is unchanged.
    expect(first).toEqual(copy);
    expect(() => randomPoolBytes(4097)).toThrow(/at most 4096/);
  });

  it('makes codes and salts of the documented shapes', () => {
    expect(newCode()).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    expect(newSalt()).toMatch(/^[0-9a-f]{16}$/);
    expect(new Set(Array.from({ length: 1000 }, () => newSalt())).size).toBe(1000);
  });
});
