/**
 * The hardening suites' figures (issue 12): each suite records one line, printed as
 * `hardening [<engine>] <suite>: <figure>`; the summary reporter (test/support/summary-reporter.ts)
 * prints them again together at the end of the run, so `npm run test:hardening` ends with one
 * line per suite and engine.
 */
import { testEngine } from '../support/database.js';

/** The prefix the summary reporter collects. */
export const FIGURE_PREFIX = 'hardening [';

/** Prints a suite's figure line (say, `10240 cases / 0 5xx / 0 stored on reject`). */
export function recordFigure(suite: string, figure: string): void {
  console.log(`${FIGURE_PREFIX}${testEngine()}] ${suite}: ${figure}`);
}
