/**
 * The background workers' common handle. The workers (the expiry sweeper, the chain watchers,
 * the webhook dispatcher) run inside every server process, each on its own timer, and
 * coordinate with the other processes only through the database (docs/design.md, "Layers").
 */

/**
 * A running background worker. A worker starts when its `start…` function is called: the
 * function schedules the first pass (after the worker's interval, given in milliseconds in its
 * options) and returns this handle at once. From then on each pass schedules the next; an error
 * in a pass is reported to the worker's `onError` and the next pass runs all the same.
 */
export interface Worker {
  /**
   * Stops the worker: no pass starts after the call, a pending timer is cleared, and the
   * promise resolves once the pass under way (if any) has finished and what the worker holds
   * (a chain lease, claimed deliveries' attempts) has been released or settled. Never rejects
   * for a failed pass: those went to `onError`.
   */
  stop(): Promise<void>;
}
