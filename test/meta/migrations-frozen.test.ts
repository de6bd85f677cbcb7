/**
 * Migrations are frozen (src/db/migrations/index.ts, https://kysely.dev/docs/migrations): a
 * migration file imports nothing but Kysely and files of its own folder, the names are those that
 * existing databases hold in `kysely_migration`, and the code of a released migration does not
 * change (comments may).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/process.js';
import { migrations } from '../../src/db/migrations/index.js';

const FOLDER = join(ROOT, 'src/db/migrations');

/**
 * The released migrations, in order, each with the SHA-256 of its code without comments (as
 * TypeScript's printer writes it). A database anywhere may hold any prefix of this list.
 * Releasing a new migration appends it here (with a wrong hash the test names the right one);
 * nothing above ever changes.
 */
const RELEASED: readonly (readonly [name: string, codeSha256: string])[] = [
  ['0001_initial', '9ea4fd18405ee2059d7346a7980fc4741216b1972cad9b3c66e46ee50058dfbb'],
  ['0002_webhooks', '1f1ecd0247910313e45c07789c44abc9da6b1bd54c440160f762fb97cad10466'],
  ['0003_evm', '38894e462a493378dcabf1dcbdba8a2020fdf2ca867f584a8f403f4416bb3c02'],
  ['0004_numbers', '88bfe3781a4527d2cb845dd7d6e7002be784538488cd4c38244664d79f816045'],
  ['0005_parties_and_scopes', 'bc160f11f038bdeed0d55512e578c9039fdd686d51dfa6bec969a9b1c816e964'],
  ['0006_merchants_and_patrons', '9f076a1cad4a62d26106367e5baa31aa142a1efc7601e8c4b07be6b4745526b0'],
  ['0007_request_number_sequences', 'b9f94bfed4f90cc4194b55e772f63a09102e580e269a96fc86e6918ad2c9362b'],
  ['0008_idempotency_claims', '3e666d9c5fbcfa184c2c6402545cfb3551f5d45ff03f23547fec3d8c75f210fc'],
  ['0009_api_key_lifecycle', '3e87caea195fca7f0149cb053e53ce3a91ef00e243d14e1eea831cf33fcf6cc9'],
  ['0010_idempotency_per_key', 'c7709434eb59fcc529e42071ab4bed1096c166328a912fc07fe759c418361e83'],
  ['0011_dialect_data', '5cf95de4257f80652c31791fdc4eac7a528b2c9541804c1a6bfef0cc6d31a13c'],
];

const files = readdirSync(FOLDER).filter((f) => f.endsWith('.ts')).sort();

/** The module specifiers `file` imports or re-exports, type-only and dynamic imports and `require` included. */
function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(join(FOLDER, file), 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

/** `file`'s code without comments, as TypeScript's printer writes it, so that only a change of code changes it. */
function codeOf(file: string): string {
  const source = ts.createSourceFile(file, readFileSync(join(FOLDER, file), 'utf8'), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  return ts.createPrinter({ removeComments: true }).printFile(source);
}

describe('frozen migrations', () => {
  it('import nothing but kysely and files of their own folder', () => {
    expect(files).toContain('index.ts');
    for (const file of files) {
      for (const specifier of importsOf(file)) {
        const local = /^\.\/[^/]+\.js$/.test(specifier) && files.includes(specifier.slice(2).replace(/\.js$/, '.ts'));
        expect(specifier === 'kysely' || local, `${file} imports ${specifier}`).toBe(true);
      }
    }
  });

  it('are named as existing databases hold them, in order, one file each', () => {
    for (const engine of ['sqlite', 'postgres'] as const) {
      const names = Object.keys(migrations(engine));
      expect(names.slice(0, RELEASED.length)).toEqual(RELEASED.map(([name]) => name));
      expect(names).toEqual([...names].sort());
      for (const name of names) expect(name).toMatch(/^\d{4}_[a-z0-9_]+$/);
      expect(files.filter((f) => f !== 'index.ts').map((f) => f.replace(/\.ts$/, ''))).toEqual(names);
    }
  });

  it('keep the code they were released with', () => {
    for (const [name, sha256] of RELEASED) {
      const actual = createHash('sha256').update(codeOf(`${name}.ts`)).digest('hex');
      // A released migration has run on databases that will not run it again: change the schema
      // in a new migration instead. (Only if a TypeScript upgrade changed how its printer writes
      // unchanged code may these hashes be recomputed.)
      expect(actual, `src/db/migrations/${name}.ts changed (its code hashes to ${actual} now)`).toBe(sha256);
    }
  });
});
