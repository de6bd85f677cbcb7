/**
 * A body over the limit (1 MiB) is refused with a 413 the client can read, in the route's own
 * error format, whether it announced its length or streamed it chunked, and while it is still
 * sending: never a reset connection (issue 12). Real sockets, 8 MiB bodies.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { recordFigure } from './figures.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const SIZE = 8 * 1024 * 1024;

/** POSTs SIZE bytes to `path`; resolves with the status and body read, or the socket error. */
function sendOversized(path: string, headers: Record<string, string>, chunked: boolean): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request(new URL(`${t.url}${path}`), { method: 'POST', headers: { 'content-type': 'application/json', ...headers, ...(chunked ? {} : { 'content-length': String(SIZE) }) } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode as number, body }));
      res.on('error', (e) => resolve({ error: e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: `${e.code ?? ''} ${e.message}` }));
    const chunk = Buffer.alloc(64 * 1024, 32);
    let sent = 0;
    const pump = (): void => {
      while (sent < SIZE && !req.destroyed) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

describe('bodies over the limit', () => {
  it('answer a readable 413 (Centrapay: its 400) in each route family format', async () => {
    const cases: { path: string; headers: Record<string, string>; status?: number; check: (body: Record<string, unknown>) => void }[] = [
      { path: '/v1/payment-requests', headers: { authorization: `Bearer ${t.adminKey}` }, check: (b) => expect(b).toMatchObject({ status: 413, code: 'payload_too_large' }) },
      { path: '/compat/pismo/payments/v1/payment-requests', headers: { authorization: `Bearer ${t.adminKey}` }, check: (b) => expect(b).toMatchObject({ error_code: 'PAYLOAD_TOO_LARGE' }) },
      { path: '/compat/request-network/v2/request', headers: { 'x-api-key': t.adminKey }, check: (b) => expect(b).toMatchObject({ statusCode: 413 }) },
      // Centrapay answers every malformed request 400 (docs/dialects/centrapay.md), this one too.
      { path: '/compat/centrapay/api/payment-requests', headers: { 'x-api-key': t.adminKey }, status: 400, check: (b) => expect(b).toMatchObject({ statusCode: 400, message: 'BAD REQUEST' }) },
      { path: '/compat/deltapay/payment-request/create', headers: { 'x-api-key': t.adminKey }, check: (b) => expect(b['detail']).toBeDefined() },
      { path: '/compat/alphapo/api/v2/requests', headers: { 'x-processing-key': t.adminKey, 'x-processing-signature': 'x' }, check: (b) => expect(b).toMatchObject({ code: 413 }) },
    ];
    let readable = 0;
    for (const c of cases) {
      for (const chunked of [false, true]) {
        const result = await sendOversized(c.path, c.headers, chunked);
        expect(result.error, `${c.path} chunked=${chunked}`).toBeUndefined();
        expect(result.status, `${c.path} chunked=${chunked}: ${result.body ?? ''}`).toBe(c.status ?? 413);
        c.check(JSON.parse(result.body as string) as Record<string, unknown>);
        readable++;
      }
    }
    recordFigure('body limit', `${readable} oversized bodies / ${readable} read their refusal (413; Centrapay's 400) / 0 resets`);
  });
});
