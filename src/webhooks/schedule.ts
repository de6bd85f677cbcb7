/**
 * When to try a delivery again. The default schedule is the Standard Webhooks
 * recommendation: immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and 24 h
 * after each failure (ten attempts over about three days), each delay spread by ±10% jitter so
 * that retries to one receiver do not arrive in lockstep.
 */

/** The default delays in seconds: entry n is the wait before attempt n + 1. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS: readonly number[] = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400];

/** The longest `Retry-After` honoured, in milliseconds (one day). */
export const MAX_RETRY_AFTER_MS = 86_400_000;

/**
 * The wait in milliseconds before the next attempt after `attempts` attempts have failed, or
 * undefined when the schedule is exhausted (the delivery has failed for good).
 * @param random - a number in [0, 1) (`Math.random` by default) for the ±`jitter` spread.
 */
export function nextDelayMs(schedule: readonly number[], attempts: number, jitter = 0.1, random: () => number = Math.random): number | undefined {
  const seconds = schedule[attempts];
  if (seconds === undefined) return undefined;
  const spread = 1 + jitter * (2 * random() - 1);
  return Math.round(seconds * 1000 * spread);
}

/**
 * Parses a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.
 * @returns the wait in milliseconds (0 to {@link MAX_RETRY_AFTER_MS}), or undefined when absent or malformed.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const text = value.trim();
  let ms: number;
  if (/^\d+$/.test(text)) ms = Number(text) * 1000;
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/**
 * Parses a schedule from configuration: comma-separated seconds (decimals allowed, for tests).
 * @throws Error when an entry is not a non-negative number or the list is empty.
 */
export function parseSchedule(text: string): number[] {
  const entries = text.split(',').map((s) => s.trim());
  const schedule = entries.map(Number);
  if (entries.length === 0 || schedule.some((n, i) => entries[i] === '' || !Number.isFinite(n) || n < 0)) {
    throw new Error(`invalid retry schedule "${text}": comma-separated seconds such as 0,5,300`);
  }
  return schedule;
}
