/** Several `payreq serve` processes on one database (PostgreSQL for the scale tests), for the multi-process tests. */
import { generateSecret } from '../../src/app/api-keys.js';
import type { Engine } from '../../src/db/engine.js';
import { openStore, type Store } from '../../src/db/store.js';
import { freePort, type PayreqProcess, spawnPayreq, waitForHealthy } from '../../scripts/lib/process.js';
import { Client } from '../support/client.js';
import { type TestDatabase, testDatabase } from '../support/database.js';

/** One server process of a cluster. */
export interface Node {
  url: string;
  proc: PayreqProcess;
  admin: Client;
}

/** N processes on one fresh PostgreSQL schema, plus a direct store for assertions. */
export interface Cluster {
  nodes: Node[];
  adminKey: string;
  store: Store;
  database: TestDatabase;
  /** Stops every process (SIGTERM) and starts as many again on the same database with `env`. */
  restart(env: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

async function startNodes(database: TestDatabase, adminKey: string, n: number, env: Record<string, string>): Promise<Node[]> {
  const ports = await Promise.all(Array.from({ length: n }, () => freePort()));
  const start = (port: number): Node => {
    const proc = spawnPayreq(['serve'], { PAYREQ_PORT: String(port), PAYREQ_DATABASE_URL: database.url, PAYREQ_BOOTSTRAP_API_KEY: adminKey, PAYREQ_DATABASE_POOL_SIZE: '8', PAYREQ_RATE_LIMIT: '0', ...env });
    const url = `http://127.0.0.1:${port}`;
    return { url, proc, admin: new Client(url, adminKey) };
  };
  // SQLite is one process's database (docs/scaling.md): its migrations and bootstrap take no
  // lock across processes, so there the first process starts alone and the others join it.
  const first = database.engine === 'sqlite' ? [start(ports[0] as number)] : [];
  await Promise.all(first.map((node) => waitForHealthy(node.url, node.proc, 60_000)));
  const nodes = [...first, ...ports.slice(first.length).map(start)];
  await Promise.all(nodes.map((node) => waitForHealthy(node.url, node.proc, 60_000)));
  return nodes;
}

async function stopNodes(nodes: Node[]): Promise<void> {
  for (const node of nodes) if (node.proc.child.exitCode === null && node.proc.child.signalCode === null) node.proc.child.kill('SIGTERM');
  await Promise.all(nodes.map((node) => node.proc.exited));
}

/**
 * Starts `n` processes on one fresh database of `engine`: at once on PostgreSQL (they race to
 * migrate and bootstrap), the first alone on SQLite. The rate limit is off unless `env` sets
 * `PAYREQ_RATE_LIMIT`.
 */
export async function startCluster(n: number, env: Record<string, string> = {}, engine: Engine = 'postgres'): Promise<Cluster> {
  const database = testDatabase(engine);
  const adminKey = generateSecret('test');
  const cluster: Cluster = {
    nodes: await startNodes(database, adminKey, n, env),
    adminKey,
    store: openStore({ url: database.url, poolSize: 4 }),
    database,
    async restart(nextEnv) {
      await stopNodes(cluster.nodes);
      cluster.nodes = await startNodes(database, adminKey, n, nextEnv);
    },
    async close() {
      await stopNodes(cluster.nodes);
      await cluster.store.close();
      await database.drop();
    },
  };
  return cluster;
}

/** Runs `tasks` with at most `limit` in flight. */
export async function runConcurrently<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Ledger and event invariants over the whole database: sums per currency, negatives, event sequences. */
export async function checkInvariants(store: Store): Promise<void> {
  const balances = await store.db.selectFrom('accounts').select(['currency', 'balance', 'system_purpose']).execute();
  const sums = new Map<string, bigint>();
  for (const b of balances) {
    sums.set(b.currency, (sums.get(b.currency) ?? 0n) + BigInt(b.balance));
    if (b.system_purpose === null && BigInt(b.balance) < 0n) throw new Error(`negative balance ${b.balance}`);
  }
  for (const [currency, sum] of sums) if (sum !== 0n) throw new Error(`${currency} sums to ${sum}`);
  const gaps = await store.db
    .selectFrom('events')
    .select(['payment_request_id', (eb) => eb.fn.countAll<number>().as('n'), (eb) => eb.fn.max('sequence').as('max')])
    .groupBy('payment_request_id')
    .having((eb) => eb(eb.fn.countAll(), '!=', eb.fn.max('sequence')))
    .execute();
  if (gaps.length > 0) throw new Error(`event sequences with gaps or repeats: ${JSON.stringify(gaps.slice(0, 3))}`);
  const stale = await store.db
    .selectFrom('payment_requests as pr')
    .leftJoin('events as e', (join) => join.onRef('e.payment_request_id', '=', 'pr.id').onRef('e.sequence', '=', 'pr.sequence'))
    .select('pr.id')
    .where('e.id', 'is', null)
    .limit(3)
    .execute();
  if (stale.length > 0) throw new Error(`requests whose last event is missing: ${JSON.stringify(stale)}`);
}
