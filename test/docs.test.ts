/** The documentation stays true to the code: every error code is documented with its status. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/domain/errors.js';
import { STATUS_OF } from '../src/http/problem.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const rows = new Map([...doc.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));

describe('docs/errors.md', () => {
  it('lists every error code with the status the server answers', () => {
    for (const code of ERROR_CODES) expect(rows.get(code), code).toBe(STATUS_OF[code]);
  });

  it('lists no code the server does not have', () => {
    expect([...rows.keys()].sort()).toEqual([...ERROR_CODES].sort());
  });
});
