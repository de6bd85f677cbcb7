/**
 * Prints the plain closing line `tests: N passed, N failed, N skipped` after a run, so that
 * CI reads the counts whatever runner output precedes it. A file that fails outside its tests
 * (say, a `beforeAll` that cannot reach the database) counts as a failure.
 */
import type { UserConsoleLog } from 'vitest';
import type { Reporter, TestModule } from 'vitest/node';

/** The prefix of the hardening suites' figure lines (test/hardening/figures.ts). */
const FIGURE_PREFIX = 'hardening [';

export default class SummaryReporter implements Reporter {
  private readonly figures: string[] = [];

  onUserConsoleLog(log: UserConsoleLog): void {
    if (log.type === 'stdout' && log.content.startsWith(FIGURE_PREFIX)) this.figures.push(log.content.trimEnd());
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const module of testModules) {
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed += 1;
        else if (state === 'failed') failedHere += 1;
        else skipped += 1;
      }
      // A file that failed outside its tests (a hook, an import) counts as one failure: its
      // tests show as skipped, but the run did not pass.
      if (module.state() === 'failed' && failedHere === 0) failedHere = 1;
      failed += failedHere;
    }
    if (this.figures.length > 0) process.stdout.write(`\n${[...this.figures].sort().join('\n')}\n`);
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
