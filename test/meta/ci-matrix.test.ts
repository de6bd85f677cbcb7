/**
 * Under `CI=true` an unreachable PostgreSQL fails the suite rather than being skipped, and
 * outside CI the PostgreSQL half is left out with a warning.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/lib/process.js';

const DEAD = 'postgres://postgres@127.0.0.1:1/nothing';

function vitest(env: Record<string, string>, args: string[]) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv['VITEST'];
  delete childEnv['VITEST_WORKER_ID'];
  delete childEnv['VITEST_POOL_ID'];
  return spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...args], { cwd: ROOT, env: childEnv, encoding: 'utf8', timeout: 120_000 });
}

describe('the test matrix', () => {
  it('fails under CI=true when PostgreSQL cannot be reached', () => {
    const run = vitest({ CI: 'true', PAYREQ_TEST_DATABASE_URL: DEAD }, ['--project', 'postgres', 'test/ledger.test.ts']);
    expect(run.status, run.stdout + run.stderr).not.toBe(0);
    expect(run.stdout).toMatch(/tests: 0 passed, [1-9]\d* failed/);
  });

  it('leaves the PostgreSQL half out, with a warning, outside CI', () => {
    const run = vitest({ CI: 'false', PAYREQ_TEST_DATABASE_URL: DEAD }, ['--project', 'sqlite', 'test/ledger.test.ts']);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toMatch(/PostgreSQL at .* is not reachable/);
    expect(run.stdout).toMatch(/tests: 3 passed, 0 failed/);
  });
});
