/**
 * Every citation names something a clone of the repository has: a path-like citation in code,
 * tests, scripts, benchmarks, the SDK's source and the docs (`docs/api.md`, `src/rails/ledger.ts`,
 * a relative Markdown link with its `#anchor`, a section cited by its title as
 * `docs/api.md, "Refunds"`) must exist, and nothing cites a design page or research notes kept
 * outside the repository (CONTRIBUTING.md, "Citations").
 *
 * A failure lists each dead citation as `file:line: path`.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What is scanned: folders (recursively) and single files, relative to the repository root. */
const SCANNED = ['src', 'test', 'scripts', 'bench', 'sdk/src', 'docs', 'README.md', 'CONTRIBUTING.md', 'sdk/README.md', 'eslint.config.js', 'vitest.config.ts', '.dependency-cruiser.cjs', 'CHANGELOG.md'];
const TEXT = /\.(ts|js|cjs|mjs|md)$/;

/**
 * Citations that look like repository paths but are not, each with the reason. Kept short:
 * anything else that looks like a path must exist.
 */
const NOT_CITATIONS: ReadonlyArray<{ file: string; path: string; why: string }> = [
  { file: 'test/meta/citations.test.ts', path: '*', why: "this test's own examples of what it refuses" },
];

/**
 * Pages cited before they exist, because the change that writes them lands beside this one.
 * Each is tolerated only while it is missing: once the page exists, the last test fails until
 * its entry is removed here.
 */
const PENDING: readonly string[] = [];

/**
 * Path-like citations: a top-level folder of the repository, then path characters, and an
 * optional `#anchor` of a Markdown page. Not part of a URL or of a longer path (an import's `../src/…`).
 */
const PATH = /(?<![\w./@:-])((?:docs|src|test|scripts|bench|sdk|\.ci)\/[\w./-]*[\w/])(?:#([\w-]+))?/g;
/** A source file named from `src/` (`app/present.ts`, `domain/money.ts`), as comments often do. */
const SRC_PATH = /(?<![\w./@:-])((?:domain|contract|db|rails|webhooks|app|http|dialects|workers|cli)\/[\w./-]*\.(?:ts|js))\b/g;
/** A Markdown page named without a folder (`CHANGELOG.md`; in `docs/`, a page beside the citing one). */
const BARE_MD = /(?<![\w/.@:-])([\w-]+\.md)\b/g;
/** A section cited by its title: `docs/api.md, "Refunds"`, `README, "Secrets at rest"`. */
const SECTION = /((?:[\w.-]+\/)*[\w.-]+\.md|README|CONTRIBUTING),? ["“]([^"”]{2,80})["”]/g;
/** A Markdown link or image target: `](target)`. */
const LINK = /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
/** Citations of pages a clone never has. */
const OUTSIDE = /\b(?:DESIGN|STYLE)\.md\b|(?<![\w/-])(?:seeds|reference)\/[\w.-]+\.md|\.\.\/shared\b|§\s?\d+(?:\.\d+)*(?![\w.])/g;

function filesUnder(path: string): string[] {
  const full = join(root, path);
  if (!existsSync(full)) return [];
  if (statSync(full).isFile()) return TEXT.test(path) ? [path] : [];
  return readdirSync(full).flatMap((name) => (name === 'node_modules' || name.startsWith('.') ? [] : filesUnder(posix.join(path, name))));
}

/** True when `path` (relative to the root, or to `base`) names a file or folder; a `.js` import-style name also matches its `.ts` source. */
function exists(path: string, bases: readonly string[]): boolean {
  const candidates = path.endsWith('.js') ? [path, `${path.slice(0, -3)}.ts`] : [path];
  return bases.some((base) => candidates.some((c) => existsSync(join(root, base, c))));
}

/** GitHub's anchor of a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

const anchorCache = new Map<string, Set<string>>();
/** The anchors of a Markdown file's headings (a repeated heading gets `-1`, `-2`…, as on GitHub). */
function anchorsOf(file: string): Set<string> {
  let anchors = anchorCache.get(file);
  if (anchors) return anchors;
  anchors = new Set();
  let fenced = false;
  for (const line of readFileSync(join(root, file), 'utf8').split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading?.[1]) continue;
    const base = slug(heading[1]);
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n += 1) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  anchorCache.set(file, anchors);
  return anchors;
}

const sectionCache = new Map<string, Set<string>>();
/** The titles a page's sections go by: its headings and its bold run-in labels (`**Amounts** are…`), in lower case. */
function sectionsOf(file: string): Set<string> {
  let titles = sectionCache.get(file);
  if (titles) return titles;
  const text = readFileSync(join(root, file), 'utf8');
  const clean = (t: string): string => t.replace(/`/g, '').replace(/[.:]+$/, '').trim().toLowerCase();
  titles = new Set([...text.matchAll(/^#{1,6}\s+(.*)$/gm)].map((m) => clean(m[1]!)));
  for (const m of text.matchAll(/\*\*([^*]+)\*\*/g)) titles.add(clean(m[1]!));
  sectionCache.set(file, titles);
  return titles;
}

/** The repository file a page name means when cited from `file`: from the root, or beside a page in `docs/`. */
function pageOf(name: string, file: string): string | undefined {
  const path = name === 'README' || name === 'CONTRIBUTING' ? `${name}.md` : name;
  const candidates = [path, ...(file.endsWith('.md') ? [posix.join(posix.dirname(file), path)] : [])];
  return candidates.find((c) => existsSync(join(root, c)) && statSync(join(root, c)).isFile());
}

interface Finding {
  file: string;
  line: number;
  cited: string;
}

function excepted(file: string, path: string): boolean {
  const fromRoot = file.startsWith('docs/') && !path.includes('/') ? posix.join(posix.dirname(file), path) : path;
  return PENDING.includes(fromRoot) || NOT_CITATIONS.some((e) => e.file === file && (e.path === '*' || e.path === path));
}

function scan(): { dead: Finding[]; outside: Finding[] } {
  const dead: Finding[] = [];
  const outside: Finding[] = [];
  for (const file of SCANNED.flatMap(filesUnder)) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    // A path inside the SDK may be written from the SDK's own folder (`src/client.ts`).
    const bases = file.startsWith('sdk/') ? ['.', 'sdk'] : ['.'];
    lines.forEach((text, i) => {
      const line = i + 1;
      for (const m of text.matchAll(OUTSIDE)) {
        // `§` after an RFC or EIP number cites a public document's section: that is allowed.
        if (m[0].startsWith('§') && /\b(?:RFC|EIP|ERC|ISO|BIP)[ -]?\d+\s*$/i.test(text.slice(0, m.index).trimEnd())) continue;
        if (!excepted(file, m[0])) outside.push({ file, line, cited: m[0] });
      }
      for (const m of text.matchAll(PATH)) {
        const path = m[1]!.replace(/\.+$/, '');
        const anchor = m[2];
        if (!exists(path, bases)) {
          if (!excepted(file, path)) dead.push({ file, line, cited: path });
        } else if (anchor !== undefined && path.endsWith('.md') && !anchorsOf(path).has(anchor.toLowerCase())) {
          if (!excepted(file, `${path}#${anchor}`)) dead.push({ file, line, cited: `${path}#${anchor} (no such heading)` });
        }
      }
      if (!file.endsWith('.md') && !file.startsWith('sdk/')) {
        for (const m of text.matchAll(SRC_PATH)) {
          // An import names its module by a relative path (`'../db/x.js'`); only prose citations are checked here.
          if (/\bfrom\s+['"]|import\(\s*['"]/.test(text.slice(0, m.index))) continue;
          const path = m[1]!;
          if (!exists(`src/${path}`, ['.']) && !excepted(file, path)) dead.push({ file, line, cited: `${path} (read from src/)` });
        }
      }
      for (const m of text.matchAll(BARE_MD)) {
        if (pageOf(m[1]!, file) === undefined && !excepted(file, m[1]!)) dead.push({ file, line, cited: m[1]! });
      }
      for (const m of text.matchAll(SECTION)) {
        const page = pageOf(m[1]!, file);
        const title = m[2]!.replace(/`/g, '').replace(/[.:]+$/, '').trim().toLowerCase();
        if (page === undefined) {
          if (!excepted(file, m[1]!)) dead.push({ file, line, cited: `${m[1]!} (no such page)` });
        } else if (!sectionsOf(page).has(title) && !excepted(file, `${m[1]!}, "${m[2]!}"`)) {
          dead.push({ file, line, cited: `${m[1]!}, "${m[2]!}" (no such section)` });
        }
      }
      if (!file.endsWith('.md')) return;
      for (const m of text.matchAll(LINK)) {
        const target = m[1]!;
        if (/^[a-z][a-z+.-]*:/i.test(target)) continue; // a URL
        const [path = '', anchor] = target.split('#');
        const resolved = path === '' ? file : posix.normalize(posix.join(posix.dirname(file), path));
        if (resolved.startsWith('..') || !existsSync(join(root, resolved))) {
          if (!excepted(file, target)) dead.push({ file, line, cited: target });
          continue;
        }
        if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor.toLowerCase())) {
          if (!excepted(file, target)) dead.push({ file, line, cited: `${target} (no such heading)` });
        }
      }
    });
  }
  return { dead, outside };
}

const format = (findings: Finding[]): string => findings.map((f) => `${f.file}:${f.line}: ${f.cited}`).join('\n');

describe('citations', () => {
  const { dead, outside } = scan();

  it('name only repository paths that exist (and Markdown anchors that exist)', () => {
    expect(format(dead), `dead citations:\n${format(dead)}`).toBe('');
  });

  it('never name a design page, research notes or anything outside the repository', () => {
    expect(format(outside), `citations of pages outside the repository:\n${format(outside)}`).toBe('');
  });

  it('are found by the scanner (a pattern that matched nothing would pass the tests above)', () => {
    expect([...'the ledger (docs/api.md, src/rails/ledger.ts#x); see `docs/design.md#layers`.'.matchAll(PATH)].map((m) => m[1])).toEqual(['docs/api.md', 'src/rails/ledger.ts', 'docs/design.md']);
    expect([..."import { x } from '../src/db/store.js'; https://example.com/docs/a.md".matchAll(PATH)]).toEqual([]);
    expect([...'see DESIGN.md §3, seeds/pismo.md and ../shared/x; RFC 9110 §10.2.3'.matchAll(OUTSIDE)].map((m) => m[0])).toEqual(['DESIGN.md', '§3', 'seeds/pismo.md', '../shared', '§10.2.3']);
    expect(slug('Money, and `bigint` minor units')).toBe('money-and-bigint-minor-units');
    expect([...'(docs/api.md, "Refunds"; README, "Secrets at rest")'.matchAll(SECTION)].map((m) => [m[1], m[2]])).toEqual([['docs/api.md', 'Refunds'], ['README', 'Secrets at rest']]);
    expect([...sectionsOf('docs/api.md')]).toEqual(expect.arrayContaining(['refunds', 'amounts']));
    expect([...'(seed: pismo-payment-requests.md; CHANGELOG.md)'.matchAll(BARE_MD)].map((m) => m[1])).toEqual(['pismo-payment-requests.md', 'CHANGELOG.md']);
    expect(SCANNED.flatMap(filesUnder).length).toBeGreaterThan(100);
  });

  it('tolerate a pending page only while it is missing', () => {
    const written = PENDING.filter((path) => existsSync(join(root, path)));
    expect(written, `these pages exist now: remove them from PENDING in test/meta/citations.test.ts`).toEqual([]);
  });
});
