// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The domain is pure: no database, HTTP, or Node I/O (STYLE.md §1).
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/db/**', '**/http/**', '**/app/**', '**/rails/**', '**/dialects/**'], message: 'domain/ is pure: it imports nothing from the outer layers.' },
          { group: ['kysely', 'fastify', 'better-sqlite3', 'pg', 'node:fs', 'node:net', 'node:http'], message: 'domain/ does no I/O.' },
        ],
      }],
    },
  },
  {
    // Use cases take a transaction, never a framework object.
    files: ['src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/http/**', 'fastify'], message: 'app/ knows nothing of HTTP.' }],
      }],
    },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
