/**
 * What one client can hold open (docs/deployment.md): a request whose headers trickle in is cut
 * at `PAYREQ_HEADERS_TIMEOUT_MS`, an idle keep-alive connection at `PAYREQ_KEEP_ALIVE_TIMEOUT_MS`,
 * sockets past `PAYREQ_MAX_CONNECTIONS` are closed as they arrive while the open ones go on, and
 * live streams past their caps (per key, per org, per address on the pay page) answer 429 — while
 * an open live stream outlives the request timeout. Raw sockets on a real port.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createKey, createRequest, createUserWithAccount } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { openSse, type SseStream } from '../support/sse.js';
import { isDocumentedError } from '../hardening/routes.js';

const servers: TestServer[] = [];
const sockets: Socket[] = [];
const streams: SseStream[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(overrides: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const t = await startTestServer(overrides);
  servers.push(t);
  return t;
}

/** A raw TCP connection to `t`, with everything it receives and when it closed. */
function rawSocket(t: TestServer): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const { hostname, port } = new URL(t.url);
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(Number(port), hostname);
    sockets.push(socket);
    const closed = new Promise<number>((done) => socket.on('close', () => done(Date.now())));
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, received: () => text, closed }));
    socket.once('error', reject);
  });
}

/** Reads one response to `GET /healthz` sent on `socket`. */
async function healthOn(conn: { socket: Socket; received: () => string }): Promise<string> {
  const before = conn.received().length;
  conn.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  for (let i = 0; i < 100 && !/\r\n\r\n[\s\S]*"ok"/.test(conn.received().slice(before)); i++) await new Promise((r) => setTimeout(r, 20));
  return conn.received().slice(before);
}

/** The defaults (README, configuration), written out so that this file runs on a build without them. */
const DEFAULT_TIMEOUTS = { headersTimeoutMs: 20_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 72_000 };
const timeouts = (overrides: Partial<typeof DEFAULT_TIMEOUTS>) => ({ ...DEFAULT_TIMEOUTS, maxConnections: 0, ...overrides });

describe('connection timeouts', () => {
  it('cut a client trickling header lines within the headers timeout', async () => {
    const t = await start({ connections: timeouts({ headersTimeoutMs: 1000 }) });
    const conn = await rawSocket(t);
    const opened = Date.now();
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const trickle = setInterval(() => conn.socket.write(`X-Slow-${Date.now()}: a\r\n`), 200);
    const closedAt = await Promise.race([conn.closed, new Promise<number>((r) => setTimeout(() => r(-1), 6000))]);
    clearInterval(trickle);
    expect(closedAt, 'still open after 6 s').toBeGreaterThan(0);
    // The headers timeout, plus at most Node's checking interval (a quarter of it here).
    expect(closedAt - opened).toBeLessThan(2500);
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408/);
  });

  it('close an idle keep-alive connection after the keep-alive timeout', async () => {
    const t = await start({ connections: timeouts({ keepAliveTimeoutMs: 500 }) });
    const conn = await rawSocket(t);
    expect(await healthOn(conn)).toMatch(/^HTTP\/1\.1 200/);
    const answered = Date.now();
    const closedAt = await Promise.race([conn.closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
    expect(closedAt, 'still open after 5 s').toBeGreaterThan(0);
    expect(closedAt - answered).toBeLessThan(2000);
  });

  it('do not cut a live stream that lasts longer than the request timeout', async () => {
    const t = await start({ connections: timeouts({ headersTimeoutMs: 500, requestTimeoutMs: 500 }), sse: { heartbeatMs: 200, pollIntervalMs: 50 } });
    const payee = await createUserWithAccount(t.admin);
    const stream = await openSse(`${t.url}/v1/events/stream`, t.adminKey);
    streams.push(stream);
    expect(stream.status).toBe(200);
    await new Promise((r) => setTimeout(r, 2000));
    await createRequest(t.admin, payee.accountId);
    await stream.waitFor((m) => m.some((e) => e.event === 'payment_request.created'));
  });
});

describe('the connection cap', () => {
  it('closes sockets past PAYREQ_MAX_CONNECTIONS as they arrive, while the open ones are still served', async () => {
    const t = await start({ connections: { ...DEFAULT_TIMEOUTS, maxConnections: 5 } });
    const held = [];
    for (let i = 0; i < 5; i++) held.push(await rawSocket(t));
    await new Promise((r) => setTimeout(r, 100));
    const extra = await rawSocket(t);
    const closedAt = await Promise.race([extra.closed, new Promise<number>((r) => setTimeout(() => r(-1), 3000))]);
    expect(closedAt, 'the sixth socket is still open').toBeGreaterThan(0);
    expect(extra.received()).toBe('');
    for (const conn of held) expect(await healthOn(conn)).toMatch(/^HTTP\/1\.1 200/);
    // Once one closes, a new client gets in.
    held[0]?.socket.destroy();
    await held[0]?.closed;
    await new Promise((r) => setTimeout(r, 100));
    expect(await healthOn(await rawSocket(t))).toMatch(/^HTTP\/1\.1 200/);
  });
});

describe('live stream caps', () => {
  it('answer 429 too_many_streams past the cap per API key and per org, and free a slot when a stream closes', async () => {
    const t = await start({ streamCaps: { perKey: 2, perOrg: 3, perAddress: 0 } });
    const other = await createKey(t.admin, [{ permission: 'admin' }]);
    const open = async (key: string) => {
      const s = await openSse(`${t.url}/v1/events/stream`, key);
      streams.push(s);
      return s;
    };
    const first = await open(t.adminKey);
    expect(first.status).toBe(200);
    expect((await open(t.adminKey)).status).toBe(200);
    const refused = await fetch(`${t.url}/v1/events/stream`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    const body = (await refused.json()) as Record<string, unknown>;
    expect(refused.status).toBe(429);
    expect(body).toMatchObject({ code: 'too_many_streams', status: 429 });
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(body['detail']).toMatch(/per API key/);
    expect(isDocumentedError('problem', 429, refused.headers.get('content-type') ?? '', body)).toBe(true);

    expect((await open(other)).status).toBe(200);
    const perOrg = await fetch(`${t.url}/v1/events/stream`, { headers: { authorization: `Bearer ${other}` } });
    expect(perOrg.status).toBe(429);
    expect(((await perOrg.json()) as Record<string, unknown>)['detail']).toMatch(/per org/);

    first.close();
    let reopened: SseStream | undefined;
    for (let i = 0; i < 50 && reopened?.status !== 200; i++) {
      reopened?.close();
      await new Promise((r) => setTimeout(r, 50));
      reopened = await open(other);
    }
    expect(reopened?.status).toBe(200);
  });

  it('answer 429 on /pay/{code}/events past the cap per client address, in the pay page format', async () => {
    const t = await start({ streamCaps: { perKey: 0, perOrg: 0, perAddress: 2 } });
    const payee = await createUserWithAccount(t.admin);
    const pr = await createRequest(t.admin, payee.accountId);
    const url = `${t.url}/pay/${pr.code as string}/events`;
    for (let i = 0; i < 2; i++) {
      const s = await openSse(url, '');
      streams.push(s);
      expect(s.status).toBe(200);
    }
    const refused = await fetch(url);
    expect(refused.status).toBe(429);
    const body = (await refused.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'too_many_streams' });
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(isDocumentedError('pay-page', 429, refused.headers.get('content-type') ?? '', body)).toBe(true);
  });
});
