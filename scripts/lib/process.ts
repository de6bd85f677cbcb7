/** Running `payreq` as a child process for tests, the way a user runs it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The Node.js flags that `npm start` runs Payreq with: those between `node` and
 * `dist/src/cli.js` in package.json's `start` script (`--max-semi-space-size=4`, a young
 * generation of 4 MB per semi-space instead of 16, which kept the server's resident memory
 * 25–55 MB lower under load at the same rate; docs/performance.md).
 */
export function startFlags(): string[] {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const flags = /^node\s+(.*?)\s*dist\/src\/cli\.js\b/.exec(manifest.scripts['start'] ?? '')?.[1] ?? '';
  return flags === '' ? [] : flags.split(/\s+/);
}

/** A child `payreq` process with its collected output. */
export interface PayreqProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * The master key (`PAYREQ_SECRET_KEY`) of the servers tests and benchmarks start, unless they
 * pass their own (an empty string: none). A constant, so that every process on one database
 * opens what another sealed; never use it outside tests.
 */
export const TEST_SECRET_KEY = '7061797265712d746573742d6d61737465722d6b65792d6e6f742d7365637265';

/**
 * Spawns `payreq <args>` with extra environment variables: from source through tsx, or with
 * `built`, from `dist/` as `npm start` runs it (the benchmarks: no loader in the measured process).
 * The server gets {@link TEST_SECRET_KEY} as its master key, and test mode's local webhook
 * opt-in (`PAYREQ_WEBHOOK_ALLOW_LOCAL_IN_TEST=true`, for receivers on 127.0.0.1), unless `env`
 * says otherwise.
 */
export function spawnPayreq(args: string[], env: Record<string, string>, options: { built?: boolean } = {}): PayreqProcess {
  const entry = options.built ? [...startFlags(), 'dist/src/cli.js'] : ['--import', 'tsx', 'src/cli.ts'];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      PAYREQ_LOG_LEVEL: 'warn',
      PAYREQ_SECRET_KEY: TEST_SECRET_KEY,
      // Test-mode webhooks to the tests' and demos' receivers on 127.0.0.1.
      PAYREQ_WEBHOOK_ALLOW_LOCAL_IN_TEST: 'true',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** What a finished `payreq` command printed, and its exit code (null when killed). */
export interface PayreqRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `payreq <args>` from source to its end, with exactly the environment `env` (callers merge
 * `process.env` themselves), and answers its exit code and output. Asynchronous, so that a server
 * in the same test process keeps answering it; a command still running after `timeoutMs` (60 s)
 * is killed (status null).
 */
export function runPayreq(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<PayreqRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** Waits until `GET url/healthz` answers 200, or throws after `timeoutMs`. */
export async function waitForHealthy(url: string, proc: PayreqProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/healthz`)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (proc.child.exitCode !== null) throw new Error(`payreq exited early:\n${proc.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`payreq did not become healthy:\n${proc.output()}`);
}
