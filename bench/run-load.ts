/** Running `bench/load.ts` (the load generator) in a process of its own, for the benches. */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../scripts/lib/process.js';
import type { LoadResult, LoadSpec } from './load.js';

let specs = 0;

/**
 * Runs one measurement in a fresh load-generator process, so that the load never shares the
 * measured server's event loop. The spec is written as JSON to a file in `dir`.
 * @throws Error when the load generator exits non-zero.
 */
export function runLoad(spec: LoadSpec, dir: string): Promise<LoadResult> {
  const file = join(dir, `spec-${process.pid}-${specs++}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load.ts', file], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load generator exited ${code}`))));
  });
}
