/**
 * The benchmark's load generator, run as its own process so that it never shares the measured
 * server's event loop (`bench/bench.ts` starts it once per measurement). It reads a
 * {@link LoadSpec} as JSON from the file named by its first argument, drives autocannon, and
 * prints one JSON line `{rps, p50, p99, errors, statuses}`; with `captureTo`, the JSON bodies of
 * the 2xx answers go to that file, one per line (the created requests, for the next steps).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import autocannon from 'autocannon';

/** One measurement. Requests cycle through `requests` (path, method, body); `amount` (a count) replaces `seconds`. */
export interface LoadSpec {
  base: string;
  connections: number;
  seconds?: number;
  amount?: number;
  headers: Record<string, string>;
  requests: { method: 'GET' | 'POST'; path: string; body?: string }[];
  captureTo?: string;
}

/** What one measurement gives: requests per second (mean), latency percentiles in ms, failures, answers by status. */
export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  statuses: Record<string, number>;
}

const spec = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as LoadSpec;
const captured: string[] = [];
const statuses: Record<string, number> = {};
let next = 0;
let firstSent: number | undefined;
let lastAnswered = 0;
const result = await autocannon({
  url: spec.base,
  connections: spec.connections,
  ...(spec.amount === undefined ? { duration: spec.seconds ?? 5 } : { amount: spec.amount }),
  headers: spec.headers,
  requests: [{
    setupRequest: (req) => {
      firstSent ??= performance.now();
      const r = spec.requests[next++ % spec.requests.length] as LoadSpec['requests'][number];
      return { ...req, method: r.method, path: r.path, ...(r.body === undefined ? {} : { body: r.body }) };
    },
    onResponse: (status: number, body: string) => {
      lastAnswered = performance.now();
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (spec.captureTo && status >= 200 && status < 300) captured.push(body);
    },
  }],
});
if (spec.captureTo) writeFileSync(spec.captureTo, captured.join('\n'));
// Completed requests from the first request sent to the last answer: autocannon's own `duration`
// is in whole seconds, and a count-bound run also ends only at its next one-second tick.
const seconds = (lastAnswered - (firstSent ?? lastAnswered)) / 1000;
const out: LoadResult = { rps: result.requests.total / Math.max(0.001, seconds), p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.timeouts + result.non2xx, statuses };
process.stdout.write(`${JSON.stringify(out)}\n`);
