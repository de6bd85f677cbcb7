/**
 * The import rules of src/ (docs/design.md#layers, CONTRIBUTING.md "Layers"), checked by
 * `npm run lint:layers` as part of `npm test`: which top-level folder may import which, nothing in
 * a folder imports the composition root (src/*.ts, src/cli/), and no import circle between files
 * (type-only imports count). Written once here; the tables in the docs say the same.
 */
/** For each top-level folder of src/, the other folders it may import. */
const ALLOWED = {
  domain: [],
  contract: ['domain'],
  db: ['domain'],
  rails: ['domain', 'db'],
  webhooks: ['domain', 'db'],
  app: ['domain', 'contract', 'db', 'rails', 'webhooks'],
  // db/ for what is the transport's own: stored idempotent answers, the commit hold, database errors as 503.
  http: ['domain', 'contract', 'app', 'db', 'webhooks'],
  dialects: ['domain', 'contract', 'app', 'db', 'rails', 'webhooks', 'http'],
  workers: ['domain', 'db', 'rails', 'webhooks', 'app'],
};
const FOLDERS = Object.keys(ALLOWED);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import circle between files: a circle makes the load order matter and the layers meaningless.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-composition-root-from-folders',
      comment: 'The composition root (src/*.ts, src/cli/) imports the folders, never the reverse.',
      severity: 'error',
      from: { path: `^src/(${FOLDERS.join('|')})/` },
      to: { path: '^src/([^/]+\\.ts$|cli/)' },
    },
    {
      name: 'no-unknown-folder',
      comment: 'Every file of src/ is in a folder the rules name, or is part of the composition root.',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: [`^src/(${FOLDERS.join('|')}|cli|data)/`] },
      to: {},
    },
    ...FOLDERS.map((folder) => ({
      name: `${folder}-imports`,
      comment: `src/${folder}/ imports only ${ALLOWED[folder].length > 0 ? ALLOWED[folder].map((f) => `src/${f}/`).join(', ') : 'itself'} within src/.`,
      severity: 'error',
      from: { path: `^src/${folder}/` },
      to: { path: '^src/', pathNot: [`^src/(${[folder, ...ALLOWED[folder]].join('|')})/`] },
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
