/**
 * The import rules are written once, in .dependency-cruiser.cjs (run by `npm run lint:layers`);
 * docs/design.md#layers and CONTRIBUTING.md restate them as a table for people. This test holds
 * the tables to the rules, and checks that the rules do refuse what they name: a file that breaks
 * one, cruised with the same configuration, is reported.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
interface Rule { name: string; from: { path?: string }; to: { path?: string; pathNot?: string[] } }
const config = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs')) as { forbidden: Rule[] };

/** What the configuration allows each folder to import, read back from its `<folder>-imports` rules. */
function allowedByConfig(): Map<string, string[]> {
  const allowed = new Map<string, string[]>();
  for (const rule of config.forbidden) {
    const folder = /^(\w+)-imports$/.exec(rule.name)?.[1];
    if (folder === undefined) continue;
    const names = /^\^src\/\(([^)]*)\)\/$/.exec(rule.to.pathNot?.[0] ?? '')?.[1]?.split('|') ?? [];
    allowed.set(folder, names.filter((n) => n !== folder).sort());
  }
  return allowed;
}

/** The "may import" column of a page's layer table: the folders named before any "(never …)". */
function allowedByTable(page: string): Map<string, string[]> {
  const allowed = new Map<string, string[]>();
  for (const line of readFileSync(join(ROOT, page), 'utf8').split('\n')) {
    const row = /^\| `(\w+)\/` \| ([^|]*) \|/.exec(line);
    if (!row) continue;
    const [, folder, mayImport] = row as unknown as [string, string, string];
    // Only the folders named outright, not those in a parenthesis that explains or forbids.
    const named = mayImport.replace(/\([^)]*\)/g, '').match(/`(\w+)\/`/g) ?? [];
    allowed.set(folder, named.map((n) => n.slice(1, -2)).filter((n) => n !== folder).sort());
  }
  return allowed;
}

describe('the layer rules', () => {
  it('are the ones docs/design.md and CONTRIBUTING.md show', () => {
    const rules = allowedByConfig();
    expect([...rules.keys()].sort()).toEqual(['app', 'contract', 'db', 'dialects', 'domain', 'http', 'rails', 'webhooks', 'workers']);
    for (const page of ['docs/design.md', 'CONTRIBUTING.md']) {
      expect(Object.fromEntries(allowedByTable(page)), page).toEqual(Object.fromEntries(rules));
    }
  });

  it('refuse an import against the directions, an import of the composition root, and a circle', () => {
    // A scratch tree beside src/ would not match the rules' paths: the files go in src/ under
    // names no module uses, and are removed whatever happens.
    const dir = mkdtempSync(join(ROOT, 'src', 'db', 'layers-probe-'));
    const relative = dir.slice(join(ROOT, 'src', 'db').length + 1);
    try {
      writeFileSync(join(dir, 'up.ts'), "import type { Deps } from '../../app/deps.js';\nimport { loadConfig } from '../../config.js';\nexport type X = Deps;\nexport const y = loadConfig;\n");
      writeFileSync(join(dir, 'a.ts'), "import { b } from './b.js';\nexport const a = () => b;\n");
      writeFileSync(join(dir, 'b.ts'), "import { a } from './a.js';\nexport const b = () => a;\n");
      let output = '';
      try {
        execFileSync(join(ROOT, 'node_modules', '.bin', 'depcruise'), [`src/db/${relative}`, '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd: ROOT, encoding: 'utf8', stdio: 'pipe' });
      } catch (err) {
        output = String((err as { stdout?: string }).stdout);
      }
      expect(output).toMatch(/db-imports: src\/db\/layers-probe-\w+\/up\.ts → src\/app\/deps\.ts/);
      expect(output).toMatch(/no-composition-root-from-folders: src\/db\/layers-probe-\w+\/up\.ts → src\/config\.ts/);
      expect(output).toMatch(/no-circular: src\/db\/layers-probe-\w+\/a\.ts/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
