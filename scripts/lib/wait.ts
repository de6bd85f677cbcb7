/** Polling until a condition holds, for tests that wait on another process or a background worker. */

/**
 * Resolves once `check()` is true, polling every `intervalMs`.
 * @throws Error naming `what` after `timeoutMs` milliseconds.
 */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition', intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not met after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
