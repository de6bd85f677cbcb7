/**
 * Crash points for the crash tests (test-only). With `PAYREQ_TEST_CRASH_POINTS=true` in the
 * server's environment, a request carrying `Payreq-Test-Crash: <point>` kills the process with
 * SIGKILL when it reaches that point:
 * - `before-commit`: an idempotent `/v1` request's effect is written, its answer not committed;
 * - `after-commit`: the effect (and a `/v1` request's stored answer) is committed, nothing sent.
 * Without the variable the header is ignored. Never set it in production.
 */
import type { FastifyRequest } from 'fastify';

/** A point where a test may kill the server. */
export type CrashPoint = 'before-commit' | 'after-commit';

const enabled = process.env['PAYREQ_TEST_CRASH_POINTS'] === 'true';

/** Kills this process with SIGKILL when crash points are enabled and `request` asks for `point`. */
export function crashPoint(request: FastifyRequest, point: CrashPoint): void {
  if (enabled && request.headers['payreq-test-crash'] === point) process.kill(process.pid, 'SIGKILL');
}
