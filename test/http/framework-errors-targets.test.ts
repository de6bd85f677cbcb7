/**
 * Refusals made before routing (a broken percent-escape in the path, a path parameter over its
 * length) answer in the format of the family the path belongs to also when the request target
 * is in absolute form (`GET http://host/compat/… HTTP/1.1`, RFC 9112 §3.2.2), which the router
 * serves like its path; and a dialect names such a refusal for what it is, not as a body that is
 * not JSON (that wording stays for bodies that are not JSON). Raw sockets, so that the target
 * goes out as written.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { DIALECTS } from '../../src/dialects/index.js';
import { type ErrorFamily, isDocumentedError } from '../hardening/routes.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

/** Status, content type and parsed body of one raw request. */
function send(method: string, target: string, body?: string, headers: Record<string, string> = {}): Promise<{ status: number; contentType: string; body: Record<string, unknown> }> {
  const { port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), '127.0.0.1');
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('utf8')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', payload = ''] = text.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      const contentType = /\r\ncontent-type: ([^\r]*)/i.exec(head)?.[1] ?? '';
      resolve({ status, contentType, body: JSON.parse(payload) as Record<string, unknown> });
    });
    const extra = body === undefined ? '' : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    const more = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    socket.write(`${method} ${target} HTTP/1.1\r\nHost: payreq.test\r\n${more}${extra}Connection: close\r\n\r\n${body ?? ''}`);
  });
}

/** Each dialect of the list, with a path under its prefix (its route taking a body). */
const FAMILIES: readonly { family: ErrorFamily; prefix: string }[] = DIALECTS.map((d) => ({ family: d.name, prefix: `${d.prefix}${d.hardening.write.path}` }));

describe('a refusal before routing', () => {
  it.each(FAMILIES)('is in $family format for an absolute-form target, as for its path', async ({ family, prefix }) => {
    for (const target of [`${prefix}/%zz`, `http://payreq.test${prefix}/%zz`, `HTTP://payreq.test:80${prefix}/%zz`]) {
      const res = await send('GET', target);
      expect(res.status, target).toBeGreaterThanOrEqual(400);
      expect(res.status, target).toBeLessThan(500);
      expect(isDocumentedError(family, res.status, res.contentType, res.body), `${target}: ${JSON.stringify(res.body)}`).toBe(true);
    }
  });

  it.each(FAMILIES.filter((f) => f.family !== 'alphapo' && f.family !== 'centrapay'))('is not called a body that is not JSON on $family', async ({ prefix }) => {
    const res = await send('GET', `${prefix}/%zz`);
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.body)).not.toMatch(/JSON/i);
  });

  it('leaves a body that is not JSON named as such on each dialect', async () => {
    expect((await send('POST', '/compat/pismo/payments/v1/payment-requests', '{', { authorization: `Bearer ${t.adminKey}` })).body).toMatchObject({ error_code: 'MALFORMED_JSON' });
    expect((await send('POST', '/compat/request-network/v2/request', '{', { 'x-api-key': t.adminKey })).body).toMatchObject({ statusCode: 400, message: 'Invalid JSON body' });
    expect((await send('POST', '/compat/deltapay/transactions', '{', { 'x-api-key': t.adminKey })).body).toMatchObject({ detail: [{ type: 'json_invalid' }] });
  });
});
