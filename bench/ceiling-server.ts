/**
 * The stack's own ceilings, for `npm run bench`: the least a route can do on the same stack as
 * Payreq (Fastify with its pino logger at the bench's level, zod validation through
 * fastify-type-provider-zod, Kysely over the same store: the same SQLite pragmas and statement
 * cache, the same PostgreSQL pool), on `BENCH_PORT` over `BENCH_DATABASE_URL`:
 *
 * - `POST /ceiling/rows`: a validated JSON body, one row inserted, 201 with the row (the insert ceiling);
 * - `GET /ceiling/rows/:id`: one row read by primary key (the read ceiling);
 * - `GET /ceiling`: a fixed JSON body, no database (the framework's ceiling).
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import { openStore } from '../src/db/store.js';

const store = openStore({ url: process.env['BENCH_DATABASE_URL'] as string, poolSize: Number(process.env['BENCH_POOL_SIZE'] ?? 10) });
// Payreq's own migrations first: they create the PostgreSQL schema, and the catalog is the same size.
await store.migrate();
await sql`create table if not exists bench_ceiling (id text primary key, amount text not null, currency text not null, description text, created_at bigint not null)`.execute(store.db);
// The ceiling's table is not in Payreq's schema: an untyped handle on the same Kysely instance.
const db = store.db as unknown as Kysely<{ bench_ceiling: { id: string; amount: string; currency: string; description: string | null; created_at: number } }>;

const app = Fastify({ logger: { level: process.env['BENCH_LOG_LEVEL'] ?? 'error' } }).withTypeProvider<ZodTypeProvider>();
app.setValidatorCompiler(validatorCompiler);
app.setSerializerCompiler(serializerCompiler);
const row = z.object({ id: z.string(), amount: z.string(), currency: z.string(), description: z.string().nullable(), createdAt: z.number() });
const fixed = { id: '01890000-0000-7000-8000-000000000000', object: 'payment_request', status: 'pending', amount: '10', currency: 'USD' };

app.get('/ceiling', () => fixed);
app.post('/ceiling/rows', {
  schema: { body: z.strictObject({ amount: z.string().regex(/^\d+(\.\d+)?$/), currency: z.string().length(3), description: z.string().max(255).optional() }), response: { 201: row } },
}, async (request, reply) => {
  const values = { id: randomUUID(), amount: request.body.amount, currency: request.body.currency, description: request.body.description ?? null, created_at: Date.now() };
  await db.insertInto('bench_ceiling').values(values).execute();
  return reply.code(201).send({ id: values.id, amount: values.amount, currency: values.currency, description: values.description, createdAt: values.created_at });
});
app.get('/ceiling/rows/:id', { schema: { params: z.object({ id: z.string() }), response: { 200: row } } }, async (request) => {
  // The bench reads only ids it inserted.
  const found = await db.selectFrom('bench_ceiling').selectAll().where('id', '=', request.params.id).executeTakeFirstOrThrow();
  return { id: found.id, amount: found.amount, currency: found.currency, description: found.description, createdAt: Number(found.created_at) };
});

await app.listen({ port: Number(process.env['BENCH_PORT']), host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => store.close()).then(() => process.exit(0)));
