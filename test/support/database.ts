/**
 * A fresh database for one test file, on the engine the vitest project runs
 * (`PAYREQ_TEST_ENGINE`): a new SQLite file in a temporary directory, or a new schema in the
 * PostgreSQL database at `PAYREQ_TEST_DATABASE_URL`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Engine } from '../../src/db/engine.js';

/** The engine this test run targets. */
export function testEngine(): Engine {
  return process.env['PAYREQ_TEST_ENGINE'] === 'postgres' ? 'postgres' : 'sqlite';
}

/** The PostgreSQL server tests use. */
export function postgresTestUrl(): string {
  return process.env['PAYREQ_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** A database for one test: its `PAYREQ_DATABASE_URL`, and `drop()` to remove it. */
export interface TestDatabase {
  url: string;
  engine: Engine;
  drop(): Promise<void>;
}

/** Creates a fresh, empty database (the schema is created by the first migration). */
export function testDatabase(engine: Engine = testEngine()): TestDatabase {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'payreq-test-'));
    return { url: `sqlite:${join(dir, 'payreq.db')}`, engine, drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const base = new URL(postgresTestUrl());
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    engine,
    async drop() {
      const client = new pg.Client({ connectionString: base.toString() });
      await client.connect();
      try {
        await client.query(`drop schema if exists ${schema} cascade`);
      } finally {
        await client.end();
      }
    },
  };
}
