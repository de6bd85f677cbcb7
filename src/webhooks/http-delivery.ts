/**
 * One HTTP attempt of a webhook: `POST` the body with the signed headers, with a timeout,
 * without following redirects (a 3xx is a failed attempt, wherever it points), through the
 * guarded DNS lookup, keeping the first 1 KiB of the answer and reading at most
 * {@link RESPONSE_READ_LIMIT} bytes of it: a receiver that trickles its answer (slowloris) is cut
 * off by the timeout, one that sends more than the limit when it is reached, and neither holds
 * up other deliveries.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { classifyAddress } from './url-guard.js';

/** What an attempt produced. `statusCode` is null when no answer came (timeout, refused…). Times are ms. */
export interface AttemptResult {
  statusCode: number | null;
  /** The first 1 KiB of the response body. */
  responseBody: string | null;
  retryAfter: string | undefined;
  durationMs: number;
  error: string | null;
  /**
   * The IP address the attempt connected or tried to connect to (the URL's IP literal, the
   * address the lookup handed the socket, or the connected peer); null when no connection was
   * tried (an invalid URL, a host that does not resolve or that the guard refused).
   */
  remoteAddress: string | null;
}

/** The most of a response body kept in the delivery log. */
export const RESPONSE_BODY_LIMIT = 1024;

/** The most of a response body read, in bytes (64 KiB): past it the connection is cut and the attempt ends with the status already received. */
export const RESPONSE_READ_LIMIT = 64 * 1024;

/** The error the delivery log shows for an attempt to a non-public address that got no answer. */
export const WITHHELD_ERROR = 'connection failed (details withheld: the destination is not a public address)';

/**
 * What the delivery log keeps of an attempt. For a destination that is not a public address (a
 * loopback receiver, which only the test-mode local opt-in reaches) it keeps the status code but
 * never the answer's body, and when no answer came it says only that the connection failed: no
 * "refused" against "timed out" against a parser's complaint, which would tell a key holder which
 * of the machine's ports listen and what speaks on them (docs/webhooks.md).
 */
export function loggableAttempt(result: AttemptResult): AttemptResult {
  if (result.remoteAddress === null || classifyAddress(result.remoteAddress) === 'public') return result;
  return { ...result, responseBody: null, error: result.error === null ? null : result.statusCode === null ? WITHHELD_ERROR : result.error };
}

const httpAgent = new HttpAgent({ keepAlive: true, maxSockets: 64 });
const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: 64 });

/**
 * Posts `body` to `url`. Never throws: every failure is in the result.
 * @param timeoutMs - the whole attempt's limit, from connecting to the end of the answer.
 */
export function postWebhook(url: string, headers: Record<string, string>, body: string, options: { timeoutMs: number; lookup: LookupFunction }): Promise<AttemptResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    let remoteAddress: string | null = null;
    const finish = (result: Omit<AttemptResult, 'durationMs' | 'remoteAddress'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, remoteAddress, durationMs: Math.round(performance.now() - started) });
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      finish({ statusCode: null, responseBody: null, retryAfter: undefined, error: 'invalid URL' });
      return;
    }
    const literal = target.hostname.replace(/^\[|\]$/g, '');
    if (isIP(literal) !== 0) remoteAddress = literal;
    const secure = target.protocol === 'https:';
    const req = (secure ? httpsRequest : httpRequest)(
      target,
      {
        method: 'POST',
        agent: secure ? httpsAgent : httpAgent,
        lookup: options.lookup,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'user-agent': 'Payreq-Webhooks/1', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        let read = 0;
        const answered = (error: string | null) => finish({ statusCode: res.statusCode ?? null, responseBody: Buffer.concat(chunks).toString('utf8'), retryAfter: res.headers['retry-after'], error });
        res.on('data', (chunk: Buffer) => {
          if (kept < RESPONSE_BODY_LIMIT) {
            chunks.push(chunk.subarray(0, RESPONSE_BODY_LIMIT - kept));
            kept += Math.min(chunk.length, RESPONSE_BODY_LIMIT - kept);
          }
          read += chunk.length;
          if (read > RESPONSE_READ_LIMIT) {
            // The status is in; the rest of an oversized answer is not read (the socket is destroyed, not reused).
            answered(`the answer exceeded ${RESPONSE_READ_LIMIT} bytes and was cut off`);
            req.destroy();
          }
        });
        res.on('end', () => answered(null));
        res.on('error', (err) => finish({ statusCode: res.statusCode ?? null, responseBody: null, retryAfter: undefined, error: err.message }));
      },
    );
    // Where the attempt went, so the delivery log can withhold what a non-public destination said.
    req.on('socket', (socket: Socket) => {
      if (socket.remoteAddress !== undefined) {
        remoteAddress = socket.remoteAddress; // a kept-alive socket, already connected
        return;
      }
      socket.on('lookup', (err: Error | null, address: string) => {
        if (!err && address) remoteAddress = address;
      });
      socket.once('connect', () => {
        remoteAddress = socket.remoteAddress ?? remoteAddress;
      });
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`timed out after ${options.timeoutMs} ms`));
    }, options.timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException & { address?: string }) => {
      if (typeof err.address === 'string') remoteAddress = err.address;
      finish({ statusCode: null, responseBody: null, retryAfter: undefined, error: err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message });
    });
    req.end(body);
  });
}
