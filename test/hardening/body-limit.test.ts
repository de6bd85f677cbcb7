/**
 * A body over the limit (1 MiB) is refused with a 413 the client can read, in the route's own
 * error format, whether it announced its length or streamed it chunked, and while it is still
 * sending: never a reset connection (issue 12). Real sockets, 8 MiB bodies; every dialect of
 * `DIALECTS` on the route its `hardening.write` names.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../src/dialects/index.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { recordFigure } from './figures.js';
import { isDocumentedError } from './routes.js';

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
    // What the known dialects' refusals say beyond their documented format.
    const specific: Record<string, (body: Record<string, unknown>) => void> = {
      pismo: (b) => expect(b).toMatchObject({ error_code: 'PAYLOAD_TOO_LARGE' }),
      'request-network': (b) => expect(b).toMatchObject({ statusCode: 413 }),
      // Centrapay answers every malformed request 400 (docs/dialects/centrapay.md), this one too.
      centrapay: (b) => expect(b).toMatchObject({ statusCode: 400, message: 'BAD REQUEST' }),
      deltapay: (b) => expect(b['detail']).toBeDefined(),
      alphapo: (b) => expect(b).toMatchObject({ code: 413 }),
    };
    const cases: { path: string; headers: Record<string, string>; status?: number; check: (body: Record<string, unknown>) => void }[] = [
      { path: '/v1/payment-requests', headers: { authorization: `Bearer ${t.adminKey}` }, check: (b) => expect(b).toMatchObject({ status: 413, code: 'payload_too_large' }) },
      // Every dialect's route taking a body, with a key (a signed family's signature is wrong: the limit answers first).
      ...DIALECTS.map((d) => {
        const status = d.hardening.write.tooLargeStatus ?? 413;
        return {
          path: `${d.prefix}${d.hardening.write.path}`,
          headers: d.hardening.auth.headers({ key: t.adminKey }, undefined),
          status,
          check: (b: Record<string, unknown>) => {
            expect(isDocumentedError(d.name, status, 'application/json', b), `${d.name}: ${JSON.stringify(b)}`).toBe(true);
            specific[d.name]?.(b);
          },
        };
      }),
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
