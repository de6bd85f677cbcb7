/**
 * Hostile webhook receivers (issue 12), on real sockets: one that trickles its answer a byte at a
 * time (slowloris) is cut off at the attempt timeout; one that answers with an endless body is
 * cut off at the read limit; a redirect is never followed, to a private address or elsewhere;
 * and a healthy endpoint of the same org gets its deliveries meanwhile.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESPONSE_READ_LIMIT, WITHHELD_ERROR } from '../../src/webhooks/http-delivery.js';
import { createAccount, createMerchant, createRequest } from '../support/factories.js';
import { type Receiver, startReceiver } from '../support/receiver.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { waitUntil } from '../support/wait.js';
import { recordFigure } from './figures.js';

let t: TestServer;
let healthy: Receiver;
let target: Receiver;
const servers: Server[] = [];
let sentByFlood = 0;

function listen(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`)));
}

beforeAll(async () => {
  t = await startTestServer();
  healthy = await startReceiver();
  target = await startReceiver();
});
afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await healthy.close();
  await target.close();
  await t.close();
});

interface Attempt { statusCode: number | null; error: string | null; durationMs: number }

async function firstAttempt(endpointId: string): Promise<Attempt> {
  let attempt: Attempt | undefined;
  await waitUntil(async () => {
    const deliveries = (await t.admin.get(`/v1/webhook-endpoints/${endpointId}/deliveries`)).body.data as { attempts: Attempt[] }[];
    attempt = deliveries[0]?.attempts[0];
    return attempt !== undefined;
  }, 15_000);
  return attempt as Attempt;
}

describe('hostile webhook receivers', () => {
  it('cuts off a slowloris at the timeout, a flood at the read limit, follows no redirect, and keeps delivering to a healthy endpoint', { timeout: 60_000 }, async () => {
    const slowloris = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-length': '100000' });
        const timer = setInterval(() => (res.destroyed ? clearInterval(timer) : res.write('.')), 100);
      });
    });
    const flood = await listen((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 120);
        const pump = () => {
          // Up to 1 GiB, as fast as the socket takes it.
          while (!res.destroyed && sentByFlood < 2 ** 30) {
            sentByFlood += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      });
    });
    const redirectToPrivate = await listen((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(302, { location: `${target.url}/private` }).end());
    });
    const redirectElsewhere = await listen((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(307, { location: 'http://169.254.169.254/latest/meta-data' }).end());
    });
    const endpoints: Record<string, string> = {};
    for (const [name, url] of Object.entries({ slowloris, flood, redirectToPrivate, redirectElsewhere, healthy: healthy.url })) {
      endpoints[name] = (await t.admin.post('/v1/webhook-endpoints', { url, enabledEvents: ['payment_request.created'] })).body.id;
    }
    const merchant = await createMerchant(t.admin, 'Abuse shop');
    const account = await createAccount(t.admin, merchant);
    const started = Date.now();
    await createRequest(t.admin, account);
    await healthy.waitFor((r) => r.length >= 1, 10_000);
    const healthyMs = Date.now() - started;

    const slow = await firstAttempt(endpoints['slowloris'] as string);
    // Cut at the timeout; the log says only that the connection failed, as for any loopback destination that gave no complete answer.
    expect(slow.error).toBe(WITHHELD_ERROR);
    expect(slow.durationMs).toBeGreaterThanOrEqual(950);
    expect(slow.durationMs).toBeLessThan(3000); // FAST_WEBHOOKS' timeout is 1 s
    const flooded = await firstAttempt(endpoints['flood'] as string);
    expect(flooded.statusCode).toBe(200);
    expect(flooded.error).toMatch(/exceeded/);
    expect(sentByFlood).toBeLessThan(64 * 1024 * 1024);
    for (const name of ['redirectToPrivate', 'redirectElsewhere']) {
      const attempt = await firstAttempt(endpoints[name] as string);
      expect([302, 307]).toContain(attempt.statusCode);
    }
    // The retries of the schedule go to the redirecting endpoints again, never to where they point.
    await new Promise((r) => setTimeout(r, 1500));
    expect(target.received).toHaveLength(0);
    expect(healthyMs).toBeLessThan(2000);
    recordFigure('webhook abuse', `slowloris cut at ${slow.durationMs} ms / flood cut after ${RESPONSE_READ_LIMIT} bytes read (${Math.round(sentByFlood / 1024)} KiB sent) / 0 redirects followed / healthy endpoint served in ${healthyMs} ms`);
  });
});
