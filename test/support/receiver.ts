/**
 * A real webhook receiver on a real port: records every request it gets, answers as the test
 * tells it (a status, headers, a delay), and verifies signatures with the `standardwebhooks`
 * package, as a Payreq user would.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { waitUntil } from './wait.js';

/** One request as received. `at` is epoch ms. */
export interface Received {
  id: string;
  timestamp: string;
  signature: string;
  body: string;
  /** The request's path and query. */
  path: string;
  /** Every request header, lower-cased names. */
  headers: Record<string, string | string[] | undefined>;
  at: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a webhook body is whatever Payreq sent
  json: any;
}

/** How to answer one request. */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Wait this long (ms) before answering. */
  delayMs?: number;
  body?: string;
}

/** A running receiver. */
export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Decides each answer (default: 200). */
  answer: (req: Received, index: number) => Answer;
  /** Resolves once `predicate` holds for the received list, or rejects after `timeoutMs`. */
  waitFor(predicate: (received: Received[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Verifies a request with a secret; throws when the signature does not match. */
  verify(req: Received, secret: string): unknown;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 (on `port` when given). */
export async function startReceiver(port = 0): Promise<Receiver> {
  const received: Received[] = [];
  // The handler reads `receiver` when a request comes, after it is built below.
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = undefined;
      try {
        json = JSON.parse(body);
      } catch {
        // not JSON: keep the text
      }
      const entry: Received = {
        id: String(req.headers['webhook-id'] ?? ''),
        timestamp: String(req.headers['webhook-timestamp'] ?? ''),
        signature: String(req.headers['webhook-signature'] ?? ''),
        body,
        path: req.url ?? '',
        headers: { ...req.headers },
        at: Date.now(),
        json,
      };
      const index = received.length;
      received.push(entry);
      const answer = receiver.answer(entry, index);
      const send = () => {
        if (res.destroyed) return;
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...(answer.headers ?? {}) });
        res.end(answer.body ?? 'ok');
      };
      if (answer.delayMs) setTimeout(send, answer.delayMs);
      else send();
    });
  });
  const receiver: Receiver = {
    url: '',
    port: 0,
    received,
    answer: () => ({ status: 200 }),
    waitFor: (predicate, timeoutMs = 10_000) => waitUntil(() => predicate(received), timeoutMs, `receiver (${received.length} received so far):`),
    verify(req, secret) {
      return new Webhook(secret).verify(req.body, { 'webhook-id': req.id, 'webhook-timestamp': req.timestamp, 'webhook-signature': req.signature });
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}
