/**
 * Which master key seals this server's secrets at rest (src/db/secrets.ts; README, "Secrets at
 * rest"):
 * - `PAYREQ_SECRET_KEY` when set (and `PAYREQ_SECRET_KEY_PREVIOUS` while rotating); a key
 *   generated for this database earlier still opens, so that the test-mode secrets sealed with
 *   it are resealed under the real key at start;
 * - unset or empty, a server whose database holds live-mode keys, or that is bootstrapped with
 *   one, refuses to start: live secrets are never sealed with a key lying beside the data;
 * - unset or empty in test mode, a generated key, kept beside the SQLite file (`<file>.secret-key`,
 *   mode 0600), or for PostgreSQL in `./data/secret-key-<hash of the URL>`; the server warns, and
 *   refuses live-mode keys made while it runs (`payreq orgs add-key`; `authenticateKey`).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Config } from './config.js';
import { hasLiveKeys } from './db/api-key.repository.js';
import { parseSecretKey, type SecretBox, secretBox } from './db/secrets.js';
import { makePrivate } from './db/sqlite.js';
import type { Store } from './db/store.js';

/** The box to seal with, and a warning to log when the key was generated. */
export interface MasterKey {
  box: SecretBox;
  warning?: string;
}

/** The file a generated test-mode key is kept in, for a database URL. */
export function generatedKeyPath(databaseUrl: string): string | undefined {
  if (databaseUrl.startsWith('sqlite:')) {
    const path = databaseUrl.slice('sqlite:'.length);
    return path === ':memory:' ? undefined : `${resolve(path)}.secret-key`;
  }
  return resolve('data', `secret-key-${createHash('sha256').update(databaseUrl).digest('hex').slice(0, 12)}`);
}

/** Reads the key file at `path`, or makes it (exclusively: concurrent first starts agree on one key). */
function keptKey(path: string): Buffer {
  try {
    makePrivate(path);
    return parseSecretKey(readFileSync(path, 'utf8'), path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(path, `${randomBytes(32).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return parseSecretKey(readFileSync(path, 'utf8'), path);
}

/**
 * The master key for `config` and its migrated `store`.
 * @throws Error when no key is configured and the database holds (or the bootstrap key is) a live-mode key.
 */
export async function resolveMasterKey(config: Config, store: Store): Promise<MasterKey> {
  const path = generatedKeyPath(config.databaseUrl);
  if (config.secretKey !== undefined) {
    const generated = path !== undefined && existsSync(path) ? [keptKey(path)] : [];
    return { box: secretBox(config.secretKey, [...generated, ...config.previousSecretKeys]) };
  }
  if (config.bootstrapApiKey?.startsWith('prq_live_') === true || (await hasLiveKeys(store))) {
    throw new Error('PAYREQ_SECRET_KEY is required: this database holds live-mode API keys (or PAYREQ_BOOTSTRAP_API_KEY is one), and their webhook and signing secrets are sealed with it. Set it to 64 hexadecimal characters, e.g. from `openssl rand -hex 32`, and keep it apart from the database (README: secrets at rest).');
  }
  const key = path === undefined ? randomBytes(32) : keptKey(path);
  return {
    box: secretBox(key, config.previousSecretKeys, { generated: true }),
    warning: `PAYREQ_SECRET_KEY is not set: test-mode secrets are sealed with a generated key ${path === undefined ? 'held in memory only' : `kept in ${path}`}, and live-mode keys are refused. Set PAYREQ_SECRET_KEY before any live-mode key exists.`,
  };
}
