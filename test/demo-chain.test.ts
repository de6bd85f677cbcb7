/** `npm run demo:chain` walks the Request Network flow on a local chain end to end and exits 0. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../scripts/lib/process.js';

describe('npm run demo:chain', () => {
  it('creates, pays on chain, detects and notifies, printing each step', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo-chain.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 90_000 });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/POST \/compat\/request-network\/v1\/request → 201/);
    expect(run.stdout).toMatch(/"needsApproval":true/);
    expect(run.stdout).toMatch(/"hasBeenPaid":true/);
    expect(run.stdout).toMatch(/signature\s+verified/);
    expect(run.stdout).toMatch(/event\s+payment.confirmed/);
  });
});
