/** `npm run demo` runs the Pismo birthday-present sample end to end and exits 0. */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../scripts/lib/process.js';

describe('npm run demo', () => {
  it('creates, pays and lists the birthday-present request, printing each step', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Ana asks Ben for 25.50 USD/);
    expect(run.stdout).toMatch(/status\s+paid/);
    expect(run.stdout).toMatch(/balance\s+74.50 USD/);
    expect(run.stdout).toMatch(/25.50 USD PAID/);
    expect(run.stdout).toMatch(/#4\s+payment_request.paid/);
  });
});
