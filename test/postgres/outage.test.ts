/**
 * A PostgreSQL restart under load (issue 12). The test runs its own PostgreSQL server (initdb
 * and pg_ctl from the machine's PostgreSQL, as the `postgres` user, on a free port), so that
 * restarting it does not disturb the other test files, which share the machine's server. A
 * Payreq process serves creates from 8 connections; the database is stopped for 3 s and started
 * again. Calls made meanwhile fail fast with 503 (in a bounded time, never a 500 or a hang),
 * `/healthz` says 503, Payreq recovers without being restarted, and every create it acknowledged
 * is in the database.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/app/api-keys.js';
import { CONNECT_TIMEOUT_MS } from '../../src/db/postgres.js';
import { freePort, type PayreqProcess, spawnPayreq, waitForHealthy } from '../../scripts/lib/process.js';
import { recordFigure } from '../hardening/figures.js';
import { Client } from '../support/client.js';

const BIN = join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort().at(-1) as string, 'bin');
const dir = mkdtempSync(join(tmpdir(), 'payreq-pg-outage-'));
const data = join(dir, 'data');
let port = 0;

function asPostgres(command: string, args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args], { stdio: 'pipe' });
}
const pgCtl = (...args: string[]) => asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', ...args]);

beforeAll(async () => {
  chmodSync(dir, 0o777);
  port = await freePort();
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  pgCtl('-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start');
}, 120_000);
afterAll(() => {
  try {
    pgCtl('-m', 'immediate', 'stop');
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a PostgreSQL restart under load', () => {
  it('fails calls fast with 503 during the outage, recovers without a restart, and loses nothing acknowledged', { timeout: 180_000 }, async () => {
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const key = generateSecret('test');
    const httpPort = await freePort();
    const base = `http://127.0.0.1:${httpPort}`;
    const server: PayreqProcess = spawnPayreq(['serve'], { PAYREQ_PORT: String(httpPort), PAYREQ_DATABASE_URL: url, PAYREQ_BOOTSTRAP_API_KEY: key, PAYREQ_RATE_LIMIT: '0' });
    try {
      await waitForHealthy(base, server, 60_000);
      const api = new Client(base, key);
      const party = await api.post('/v1/parties', { type: 'legal_entity', name: 'Outage shop' });
      const account = (await api.post('/v1/accounts', { partyId: party.body.id, currency: 'USD' })).body.id as string;
      const acknowledged: string[] = [];
      const refused: { status: number; ms: number; at: number }[] = [];
      const other: string[] = [];
      let stop = false;
      const worker = async () => {
        while (!stop) {
          const started = Date.now();
          const res = await api.post('/v1/payment-requests', { amount: '1.00', currency: 'USD', payee: { accountId: account }, expiresIn: 600 });
          if (res.status === 201) acknowledged.push(res.body.id as string);
          else if (res.status === 503 && res.body.code === 'service_unavailable') refused.push({ status: 503, ms: Date.now() - started, at: started });
          else other.push(`${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
          if (res.status !== 201) await new Promise((r) => setTimeout(r, 50));
        }
      };
      const workers = Array.from({ length: 8 }, () => worker());
      await new Promise((r) => setTimeout(r, 1000));
      const beforeOutage = acknowledged.length;
      pgCtl('-m', 'fast', 'stop');
      const down = Date.now();
      await new Promise((r) => setTimeout(r, 1500));
      const health = await fetch(`${base}/healthz`);
      await new Promise((r) => setTimeout(r, 1500));
      pgCtl('-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, 'start');
      const up = Date.now();
      // Back without restarting Payreq.
      const countAtRestart = acknowledged.length;
      const deadline = Date.now() + 30_000;
      while (acknowledged.length < countAtRestart + 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      stop = true;
      await Promise.all(workers);
      const healthAfter = await fetch(`${base}/healthz`);

      const db = new pg.Client({ connectionString: url });
      await db.connect();
      const stored = new Set((await db.query<{ id: string }>('select id from payment_requests')).rows.map((r) => r.id));
      await db.end();
      const lost = acknowledged.filter((id) => !stored.has(id));
      const duringOutage = refused.filter((r) => r.at >= down && r.at < up);
      const longest = Math.max(0, ...refused.map((r) => r.ms));
      recordFigure('database restart', `${refused.length} requests failed fast (503, longest ${longest} ms) / ${other.length} other failures / ${lost.length} acked lost / healthz ${health.status} during the outage, ${healthAfter.status} after`);
      expect(beforeOutage).toBeGreaterThan(0);
      expect(other).toEqual([]);
      expect(duringOutage.length).toBeGreaterThan(0);
      expect(longest).toBeLessThanOrEqual(CONNECT_TIMEOUT_MS + 2000);
      expect(health.status).toBe(503);
      expect(healthAfter.status).toBe(200);
      expect(acknowledged.length).toBeGreaterThanOrEqual(countAtRestart + 20);
      expect(lost).toEqual([]);
    } catch (err) {
      // The server's own words say why a call failed (a crash shows its stack here).
      console.error(`payreq output:\n${server.output().slice(-8000)}`);
      throw err;
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });
});
